"""A sample of what a site's backend does for verified customers, served by `demo` only at
`GET /demo/id-token`: after *its own* login (here there is none: the demo shop's "signed-in
customer" is always the same sample person) it signs a short-lived id token for the customer with
the key it shares with the connector (`AXP_CHAT_ID_TOKEN_KEY`, HS256), naming itself (`iss`) and
the connector (`aud`), and answers `{"idToken": …, "expiresIn": …}`, as the widget's
`data-id-token-url` expects (docs/web.md, "Verified customers"). Not for production: a real site
answers 401 to a visitor who is not signed in and signs only its own customers."""

from __future__ import annotations

import time
from typing import Final

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from axp_chat_connector.config import Settings

PATH: Final = "/demo/id-token"
ISSUER: Final = "https://shop.velo-verde.example"
AUDIENCE: Final = "axp-chat-connector"
ALGORITHM: Final = "HS256"
LIFETIME: Final = 300
"""Seconds an id token lives: short, it is only good for one login."""
SAMPLE_CUSTOMER: Final = {
    "sub": "customer-1042",
    "name": "Ada Lovelace",
    "email": "ada.lovelace@example.com",
    "phone_number": "+442079460042",
}


def sample_id_token(settings: Settings, now: float) -> str | None:
    """The sample customer's id token, or None when the connector does not take HS256 tokens
    (the demo signs only with a shared secret)."""
    if settings.id_token_algorithm != ALGORITHM or settings.id_token_key is None:
        return None
    claims: dict[str, object] = {
        **SAMPLE_CUSTOMER,
        "iat": int(now),
        "exp": int(now) + min(LIFETIME, int(settings.id_token_max_age)),
    }
    if settings.id_token_issuer:
        claims["iss"] = settings.id_token_issuer
    if settings.id_token_audience:
        claims["aud"] = settings.id_token_audience
    return jwt.encode(claims, settings.id_token_key.get_secret_value(), algorithm=ALGORITHM)


def route(settings: Settings) -> Route:
    """`GET /demo/id-token`: the sample customer's id token, never cached."""

    async def id_token(request: Request) -> Response:
        token = sample_id_token(settings, time.time())
        if token is None:
            detail = "the demo signs id tokens only with AXP_CHAT_ID_TOKEN_ALGORITHM=HS256"
            return JSONResponse({"detail": detail}, status_code=501)
        expires_in = min(LIFETIME, int(settings.id_token_max_age))
        answer = {"idToken": token, "expiresIn": expires_in}
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    return Route(PATH, id_token, methods=["GET"])
