"""Write docs/settings.md from the `Settings` model (the test suite checks it is up to date).

.venv/bin/python scripts/settings_docs.py          # rewrite docs/settings.md
.venv/bin/python scripts/settings_docs.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import NoneType, UnionType
from typing import Literal, Union, get_args, get_origin

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from axp_chat_connector.config import FILE_SUFFIX, Settings, env_name

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "settings.md"

HEADER = """\
# Settings

Generated from `src/axp_chat_connector/config.py` by `scripts/settings_docs.py`; do not edit.

Every setting is read from its environment variable or from a `.env` file in the working
directory (the environment wins). A secret can instead be read from a file named by the same
variable with `_FILE` appended (e.g. `AXP_CHAT_AXP_CLIENT_SECRET_FILE=/run/secrets/axp`), as
Docker and Kubernetes mount secrets; setting both is an error. A bad or missing setting stops
startup with one line per setting saying what is expected. Every command (`serve`, `check`,
`provision`) runs the same validation, so `check` passes only where `serve` would start;
`axp-chat-connector check` prints the settings with secrets (and URL passwords) masked, then a
warning for each valid but weak choice (any origin, verified mode without `iss` or `aud`, no way
to log in, a public `/metrics`), which `serve` also logs at startup.

List settings are JSON, e.g. `AXP_CHAT_ALLOWED_ORIGINS='["https://www.acme.com"]'`.

| variable | type | default | description |
|---|---|---|---|
"""


def _type(annotation: object) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, UnionType):
        kinds = [_type(a) for a in args if a is not NoneType]
        return " or ".join(kinds) + (" (optional)" if NoneType in args else "")
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin is list:
        return f"JSON list of {_type(args[0])}" if args else "JSON list"
    if annotation is SecretStr:
        return "secret"
    return getattr(annotation, "__name__", str(annotation))


def _is_secret(annotation: object) -> bool:
    return annotation is SecretStr or SecretStr in get_args(annotation)


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return f"`{json.dumps(field.default_factory())}`"  # type: ignore[call-arg]
    if field.default is PydanticUndefined:
        return "**required**"
    if field.default is None:
        return "(none)"
    return f"`{field.default}`"


def render() -> str:
    rows = []
    for name, field in Settings.model_fields.items():
        variable = f"`{env_name(name)}`"
        if _is_secret(field.annotation):
            variable += f" (or `{env_name(name)}{FILE_SUFFIX}`)"
        description = (field.description or "").replace("|", "\\|")
        rows.append(
            f"| {variable} | {_type(field.annotation)} | {_default(field)} | {description} |"
        )
    return HEADER + "\n".join(rows) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run scripts/settings_docs.py")
            return 1
        return 0
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
