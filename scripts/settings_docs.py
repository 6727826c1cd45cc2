"""Write docs/settings.md from the `Settings` model (the test suite checks it is up to date).

.venv/bin/python scripts/settings_docs.py          # rewrite docs/settings.md
.venv/bin/python scripts/settings_docs.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import SecretStr
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
startup with one line per setting saying what is expected. `axp-chat-connector check` prints
the settings with secrets masked.

| variable | type | default | description |
|---|---|---|---|
"""


def _type(annotation: object) -> str:
    if annotation is SecretStr:
        return "secret"
    return getattr(annotation, "__name__", str(annotation))


def _default(value: object) -> str:
    if value is PydanticUndefined:
        return "**required**"
    return f"`{value}`"


def render() -> str:
    rows = []
    for name, field in Settings.model_fields.items():
        variable = f"`{env_name(name)}`"
        if field.annotation is SecretStr:
            variable += f" (or `{env_name(name)}{FILE_SUFFIX}`)"
        description = (field.description or "").replace("|", "\\|")
        rows.append(
            f"| {variable} | {_type(field.annotation)} | {_default(field.default)} "
            f"| {description} |"
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
