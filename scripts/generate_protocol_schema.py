"""Write the published client protocol from the wire models (the test suite checks it is up to
date): docs/asyncapi.json (AsyncAPI 3.0), docs/schema/**.json (a JSON Schema per command, answer,
event and long-polling body) and docs/client-protocol.md (the same, for people).

.venv/bin/python scripts/generate_protocol_schema.py          # rewrite the files
.venv/bin/python scripts/generate_protocol_schema.py --check  # exit 1 if any is out of date
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from axp_chat_connector.protocol.wire_answers import PollEvents, Problem
from axp_chat_connector.protocol.wire_asyncapi import asyncapi_document
from axp_chat_connector.protocol.wire_examples import EXAMPLES
from axp_chat_connector.protocol.wire_schema import (
    MESSAGES,
    Direction,
    envelope_schema,
    standalone_schema,
)

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SCHEMA_DIR = "schema"
ENVELOPE_FILES: dict[str, type[BaseModel]] = {
    "long-polling/events.json": PollEvents,
    "long-polling/problem.json": Problem,
}

HEADER = """\
# Client protocol reference

Generated from the models in `src/axp_chat_connector/protocol/` by
`scripts/generate_protocol_schema.py`; do not edit. [protocol.md](protocol.md) is the prose
(what each command does, when each event comes); this page lists every frame's fields. The same
contract, machine-readable: [asyncapi.json](asyncapi.json) (AsyncAPI 3.0: WebSocket, long polling
and Server-Sent Events), also served by the connector at `GET /v1/asyncapi.json`, and a JSON
Schema (2020-12) per frame under [schema/](schema/).

Lengths are counted in UTF-16 code units (as JavaScript's `.length`). Optional fields are left
out, never `null`. Clients ignore fields they do not know: a later version may add some.
"""

TITLES = {
    Direction.COMMAND: "Commands (client → connector)",
    Direction.ANSWER: "Answers (connector → client)",
    Direction.EVENT: "Events (connector → client)",
}


def _dump(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def schema_files() -> dict[str, dict[str, Any]]:
    """Every JSON Schema file, by its path under docs/schema/."""
    files = {f"{m.direction.value}/{m.name}.json": standalone_schema(m) for m in MESSAGES}
    files.update({path: envelope_schema(model) for path, model in ENVELOPE_FILES.items()})
    return files


def render() -> dict[Path, str]:
    """Every generated file's text, by its path."""
    out = {DOCS / "asyncapi.json": _dump(asyncapi_document())}
    schemas = schema_files()
    out.update({DOCS / SCHEMA_DIR / path: _dump(schema) for path, schema in schemas.items()})
    out[DOCS / "client-protocol.md"] = render_markdown(schemas)
    return out


# -- markdown ------------------------------------------------------------------------------------
def render_markdown(schemas: Mapping[str, Mapping[str, Any]]) -> str:
    lines = [HEADER, "", "## Transports", ""]
    for channel in asyncapi_document()["channels"].values():
        lines += [f"- `{channel['address']}`: " + " ".join(channel["description"].split())]
    shared: dict[str, Mapping[str, Any]] = {}
    for direction in Direction:
        lines += ["", f"## {TITLES[direction]}", ""]
        for message in (m for m in MESSAGES if m.direction is direction):
            path = f"{direction.value}/{message.name}.json"
            schema = schemas[path]
            shared.update(schema.get("$defs", {}))
            lines += _section(f"`{message.name}`", message.summary, schema, f"schema/{path}")
            example = json.dumps(EXAMPLES[message.name], ensure_ascii=False)
            lines += [f"Example: `{example}`", ""]
    lines += ["", "## Long polling bodies", ""]
    for path, model in ENVELOPE_FILES.items():
        schema = schemas[path]
        shared.update(schema.get("$defs", {}))
        summary = (model.__doc__ or "").split("\n\n")[0].replace("\n", " ")
        lines += _section(model.__name__, summary, schema, f"{SCHEMA_DIR}/{path}")
    lines += ["", "## Shared objects and values", ""]
    for name in sorted(shared):
        definition = shared[name]
        lines += _section(name, definition.get("description", ""), definition, None)
    return "\n".join(lines).rstrip("\n").replace("\n\n\n", "\n\n") + "\n"


def _section(title: str, summary: str, schema: Mapping[str, Any], link: str | None) -> list[str]:
    lines = [f"### {title}", "", " ".join(summary.split())]
    if link is not None:
        lines[-1] += f" Schema: [{link}]({link})."
    lines.append("")
    if "enum" in schema:
        lines += ["Values: " + ", ".join(f"`{v}`" for v in schema["enum"]) + ".", ""]
        return lines
    lines += list(_rules(schema))
    properties: Mapping[str, Any] = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", ()))
        lines += ["| field | type | required | limits | description |", "|---|---|---|---|---|"]
        for name, prop in properties.items():
            cells = [
                f"`{name}`",
                _type(prop),
                "yes" if name in required else "",
                _limits(prop),
                " ".join(prop.get("description", "").split()),
            ]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        lines.append("")
    return lines


def _rules(schema: Mapping[str, Any]) -> Iterator[str]:
    for keyword, words in (("oneOf", "Exactly one of"), ("anyOf", "At least one of")):
        choices = [c["required"][0] for c in schema.get(keyword, ()) if "required" in c]
        if choices:
            yield f"{words}: " + ", ".join(f"`{c}`" for c in choices) + "."
            yield ""


def _type(prop: Mapping[str, Any]) -> str:
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "anyOf" in prop or "oneOf" in prop:
        return " or ".join(_type(p) for p in prop.get("anyOf", prop.get("oneOf", ())))
    kind = prop.get("type")
    if kind == "array":
        return f"array of {_type(prop.get('items', {}))}"
    if kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        return f"map of string to {_type(prop['additionalProperties'])}"
    if kind is None:
        return "any"
    return f"{kind} ({prop['format']})" if "format" in prop else str(kind)


_RANGES = (
    ("minLength", "maxLength", "chars"),
    ("minimum", "maximum", ""),
    ("minItems", "maxItems", "items"),
    ("minProperties", "maxProperties", "entries"),
)


def _limits(prop: Mapping[str, Any]) -> str:
    found = [_range(prop.get(low), prop.get(high), unit) for low, high, unit in _RANGES]
    found = [text for text in found if text]
    if "exclusiveMinimum" in prop:
        found.append(f"> {prop['exclusiveMinimum']}")
    for key, words in (("propertyNames", "keys"), ("additionalProperties", "values")):
        nested = prop.get(key)
        if isinstance(nested, dict) and _limits(nested):
            found.append(f"{words} " + _limits(nested).replace("; ", ", "))
    items = prop.get("items")
    if isinstance(items, dict) and _limits(items):
        found.append("each " + _limits(items).replace("; ", ", "))
    if "default" in prop:
        found.append(f"default `{json.dumps(prop['default'])}`")
    if "examples" in prop:
        found.append("e.g. " + ", ".join(f"`{e}`" for e in prop["examples"]))
    return "; ".join(found)


def _range(low: object, high: object, unit: str) -> str:
    unit = f" {unit}" if unit else ""
    if low is not None and high is not None:
        return f"{low}-{high}{unit}"
    if high is not None:
        return f"≤ {high}{unit}"
    return "" if low is None else f"≥ {low}{unit}"


# -- files ---------------------------------------------------------------------------------------
def stale_files(expected: Mapping[Path, str]) -> list[Path]:
    """Files under docs/schema/ that the models no longer make."""
    folder = DOCS / SCHEMA_DIR
    found = sorted(folder.rglob("*.json")) if folder.is_dir() else []
    return [path for path in found if path not in expected]


def main(argv: list[str]) -> int:
    expected = render()
    outdated = [p for p, text in expected.items() if not p.is_file() or p.read_text() != text]
    stale = stale_files(expected)
    if "--check" in argv:
        for path in [*outdated, *stale]:
            print(f"out of date: {path.relative_to(ROOT)}", file=sys.stderr)
        return 1 if outdated or stale else 0
    for path in outdated:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(expected[path], encoding="utf-8")
    for path in stale:
        path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
