"""A recording stand-in for the webhook Dispatcher (the emulator's `EventSink`)."""

from __future__ import annotations

from typing import Any

from axp_chat_connector.emulator.delivery import DeliveryFaults, DeliveryRecord


class RecordingSink:
    """Keeps every published body; `flush` records which dialogs were flushed."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []
        self.flushed: list[tuple[str, int]] = []  # (dialog id, events published by then)
        self.started = False
        self.stopped = False
        self._faults = DeliveryFaults()

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    def publish(self, body: dict[str, Any]) -> None:
        self.published.append(body)

    async def flush(self, dialog_id: str, timeout: float) -> None:
        self.flushed.append((dialog_id, len(self.published)))

    def set_faults(self, faults: DeliveryFaults) -> None:
        self._faults = faults

    def faults(self) -> DeliveryFaults:
        return self._faults

    def deliveries(self) -> list[DeliveryRecord]:
        return []

    def types(self) -> list[tuple[str, str | None]]:
        """(eventType, participantType or senderParticipantType) of each published body."""
        return [
            (b["eventType"], b.get("participantType") or b.get("senderParticipantType"))
            for b in self.published
        ]
