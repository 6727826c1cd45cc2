"""Hold HTTP exchanges and JSON bodies to Avaya's OpenAPI files (openapi-core, jsonschema).

validate_exchange(response)        # an httpx.Response of an auth/chat/notification call
validate_schema("notification", "MessageEvent", body)
validate_problem(response)         # any error answer against the Problem schema
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl

import httpx
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS30Validator

SPEC_DIR: Final = Path(__file__).resolve().parent.parent / "spec" / "avaya"
SPEC_FILES: Final = {
    "chat": "avaya-axp-digital-custom-chat-openapi.yml",
    "notification": "avaya-axp-digital-notification-openapi.yml",
    "auth": "avaya-axp-auth-openapi.yml",
}
# Avaya's base paths; the spec's host is a placeholder, so requests are re-homed onto it.
BASES: Final = {
    "/api/digital/channel/v1": "chat",
    "/api/digital/webhook/v1": "notification",
    "/api/auth/v1": "auth",
}
HOST: Final = "https://HOST-REGION.api.avayacloud.com"


@functools.cache
def document(name: str) -> dict[str, Any]:
    with (SPEC_DIR / SPEC_FILES[name]).open(encoding="utf-8") as fh:
        doc: dict[str, Any] = yaml.safe_load(fh)
    return doc


@functools.cache
def openapi(name: str) -> OpenAPI:
    """The spec with its server templated as one plain URL (openapi-core cannot match Avaya's
    `{protocol}://{server}{basePath}`); nothing else changes."""
    doc = copy.deepcopy(document(name))
    base = next(b for b, n in BASES.items() if n == name)
    doc["servers"] = [{"url": HOST + base}]
    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
    return OpenAPI.from_dict(doc, config=config)


def spec_for(path: str) -> tuple[str, str]:
    """(spec name, path as Avaya writes it) for an emulator path."""
    if path.startswith("/auth/realms/"):
        path = "/api/auth/v1/" + path.removeprefix("/auth/realms/")
    for base, name in BASES.items():
        if path.startswith(base + "/"):
            return name, path
    raise ValueError(f"no Avaya spec covers {path}")


def mock_request(request: httpx.Request) -> tuple[str, MockRequest]:
    """(spec name, the request re-homed onto Avaya's server) for openapi-core."""
    name, path = spec_for(request.url.path)
    body = request.content if request.content else None
    return name, MockRequest(
        HOST,
        request.method.lower(),
        path,
        args=dict(parse_qsl(request.url.query.decode())),
        headers=dict(request.headers),
        data=body,
        content_type=request.headers.get("content-type", "application/json"),
    )


_mock_request = mock_request  # the name tests/integration/axp imports


def validate_exchange(response: httpx.Response, *, check_request: bool = True) -> None:
    """Raise unless the response (and, by default, the request) conforms to Avaya's spec."""
    name, request = mock_request(response.request)
    spec = openapi(name)
    if check_request:
        spec.validate_request(request)
    mock_response = MockResponse(
        response.content,
        status_code=response.status_code,
        headers=dict(response.headers),
        content_type=response.headers.get("content-type", ""),
    )
    spec.validate_response(request, mock_response)


@functools.cache
def _validator(spec_name: str, component: str) -> OAS30Validator:
    doc = document(spec_name)
    schema = {"$ref": f"#/components/schemas/{component}", "components": doc["components"]}
    return OAS30Validator(schema)


def validate_schema(spec_name: str, component: str, body: Any) -> None:
    """Raise unless `body` is valid against `#/components/schemas/<component>`."""
    _validator(spec_name, component).validate(body)


def validate_problem(response: httpx.Response) -> dict[str, Any]:
    """An error answer in Avaya's shape: problem+json, a Problem body whose status matches."""
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = json.loads(response.content)
    validate_schema("chat", "Problem", body)
    assert body["status"] == response.status_code
    return body
