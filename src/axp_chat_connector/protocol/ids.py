"""The ids the connector passes around, as types (`NewType`: free at run time, checked by mypy),
so a dialog id cannot be handed where an engagement id is expected.

Ours: `SessionId` (a connector session), `ProviderDialogId` and `ProviderMessageId` (the ids
AXP sees on our dialogs and sends). AXP's: `AxpSessionId` (the customer's AXP session),
`EngagementId`, `DialogId`.
"""

from __future__ import annotations

from typing import NewType

SessionId = NewType("SessionId", str)
AxpSessionId = NewType("AxpSessionId", str)
EngagementId = NewType("EngagementId", str)
DialogId = NewType("DialogId", str)
ProviderDialogId = NewType("ProviderDialogId", str)
ProviderMessageId = NewType("ProviderMessageId", str)
"""`{sessionId}:{commandId}`: settles a send once."""
