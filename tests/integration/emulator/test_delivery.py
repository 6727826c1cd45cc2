"""The emulator with its real Dispatcher: callbacks reach a real receiver over loopback HTTP."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from axp_chat_connector.emulator.config import EmulatorSettings
from tests.integration.emulator.harness import HOOKS, running, wait_until
from tests.openapi_check import validate_schema
from tests.servers import serve_app

SCHEMA_OF = {
    "ENGAGEMENT_CREATED": "EngagementCreatedEvent",
    "PARTICIPANT_ADDED": "ParticipantEvent",
    "PARTICIPANT_DISCONNECTED": "ParticipantEvent",
    "MESSAGES": "MessageEvent",
    "TYPING": "TypingEvent",
}


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/cb", self._hook, methods=["POST"])])

    async def _hook(self, request: Request) -> Response:
        self.bodies.append(await request.json())
        return Response(status_code=200)

    def kinds(self) -> list[tuple[str, str | None]]:
        return [
            (b["eventType"], b.get("participantType") or b.get("senderParticipantType"))
            for b in self.bodies
        ]


async def test_greeting_reaches_the_callback_before_the_create_engagement_answer() -> None:
    receiver = Receiver()
    settings = EmulatorSettings(
        allow_http_callbacks=True, greeting_bot=True, webhook_backoff_base=0.05
    )
    async with serve_app(receiver.app) as hook_base, running(settings) as emu:
        await emu.login()
        subscription = {
            "channelProviderId": "ChatProvider01",
            "callbackUrl": f"{hook_base}/cb",
            "eventTypes": [
                "MESSAGES",
                "PARTICIPANT_ADDED",
                "PARTICIPANT_DISCONNECTED",
                "ENGAGEMENT_CREATED",
                "TYPING",
            ],
        }
        assert (await emu.call("POST", HOOKS, json=subscription)).status_code == 201
        session = await emu.new_session()
        engagement = await emu.new_engagement(session["sessionId"], providerDialogId="pd-1")
        # Delivered before the 201 arrived: no waiting here.
        assert receiver.kinds() == [
            ("ENGAGEMENT_CREATED", None),
            ("PARTICIPANT_ADDED", "CUSTOMER"),
            ("PARTICIPANT_ADDED", "BOT"),
            ("MESSAGES", "BOT"),
        ]
        answer = await emu.send(session["sessionId"], engagement, "hi", providerMessageId="pm-1")
        assert answer.status_code == 202
        eid = engagement["engagementId"]
        await emu.client.post(f"/emulator/v1/engagements/{eid}:accept", json={"agentName": "A"})
        await wait_until(lambda: len(receiver.bodies) == 7)
        assert receiver.kinds()[4:] == [
            ("MESSAGES", "CUSTOMER"),
            ("PARTICIPANT_DISCONNECTED", "BOT"),
            ("PARTICIPANT_ADDED", "AGENT"),
        ]
        customer = receiver.bodies[4]
        assert (customer["providerMessageId"], customer["messageIndex"]) == ("pm-1", 2)
        assert {b["providerDialogId"] for b in receiver.bodies} == {"pd-1"}
        for body in receiver.bodies:
            validate_schema("notification", SCHEMA_OF[body["eventType"]], body)
        log = (await emu.client.get("/emulator/v1/deliveries")).json()["deliveries"]
        assert len(log) == 7
        assert {d["outcome"] for d in log} == {"delivered"}
        assert log[0]["status"] == 200
