"""docs/settings.md is generated from the Settings model and must be up to date."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from tests.servers import ROOT


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "settings_docs", ROOT / "scripts/settings_docs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_settings_docs_are_up_to_date() -> None:
    script = _script()
    current = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert current == script.render(), "run: .venv/bin/python scripts/settings_docs.py"


def test_every_setting_appears_in_the_docs() -> None:
    from axp_chat_connector.config import Settings, env_name

    text = _script().render()
    for name in Settings.model_fields:
        assert f"`{env_name(name)}`" in text
    assert "`AXP_CHAT_AXP_CLIENT_SECRET_FILE`" in text
