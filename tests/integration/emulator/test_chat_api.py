"""Custom Chat API over real HTTP: every operation's answers checked against Avaya's spec."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.integration.emulator.harness import CHAT, Emulator
from tests.openapi_check import validate_exchange, validate_problem, validate_schema
from tests.unit.emulator.fakes import RecordingSink

MISSING = "00000000-0000-4000-8000-000000000000"


async def test_session_lifecycle_create_get_append_update_delete(emulator: Emulator) -> None:
    session = await emulator.new_session(correlationId="c-1", sessionParameters={"a": "1"})
    sid = session["sessionId"]
    assert uuid.UUID(sid)
    assert session["correlationId"] == "c-1"
    assert session["sessionStatus"] == "ACTIVE"
    assert session["participantId"]
    got = await emulator.call("GET", f"{CHAT}/sessions/{sid}")
    assert got.json()["customerIdentifiers"] == {"emailAddresses": ["ann@example.com"]}
    appended = await emulator.call(
        "POST",
        f"{CHAT}/sessions/{sid}:appendIdentifiers",
        json={"emailAddresses": ["ann2@example.com"], "phoneNumbers": ["+353000"]},
    )
    assert appended.status_code == 200
    assert appended.json()["customerIdentifiers"]["emailAddresses"] == [
        "ann@example.com",
        "ann2@example.com",
    ]
    updated = await emulator.call(
        "POST", f"{CHAT}/sessions/{sid}:updateSessionParameters", json={"a": "2", "b": "3"}
    )
    assert updated.json()["sessionParameters"] == {"a": "2", "b": "3"}
    deleted = await emulator.call(
        "DELETE", f"{CHAT}/sessions/{sid}", params={"reason": "USER_CLOSED"}
    )
    assert deleted.status_code == 204
    gone = await emulator.call("GET", f"{CHAT}/sessions/{sid}")
    assert gone.status_code == 404
    validate_problem(gone)


async def test_correlation_id_is_generated_when_absent(emulator: Emulator) -> None:
    session = await emulator.new_session()
    engagement = await emulator.new_engagement(session["sessionId"])
    assert uuid.UUID(session["correlationId"])
    assert uuid.UUID(engagement["correlationId"])


async def test_delete_session_needs_a_valid_reason(emulator: Emulator) -> None:
    sid = (await emulator.new_session())["sessionId"]
    missing = await emulator.call("DELETE", f"{CHAT}/sessions/{sid}", validate=False)
    wrong = await emulator.call(
        "DELETE", f"{CHAT}/sessions/{sid}", params={"reason": "BORED"}, validate=False
    )
    assert missing.status_code == 400
    assert missing.json()["violations"] == [
        {"field": "reason", "message": "must not be null", "code": 20002}
    ]
    assert wrong.status_code == 400
    validate_exchange(missing, check_request=False)
    validate_exchange(wrong, check_request=False)


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"customerIdentifiers": {"e": ["x"]}}, "channelProviderId", 20002),
        ({"channelProviderId": "cp"}, "channelProviderId", 20003),
        ({"channelProviderId": "cp1", "customerIdentifiers": {}}, "customerIdentifiers", 20003),
        (
            {"channelProviderId": "cp1", "customerIdentifiers": {"e": ["x"]}, "accountId": "A1"},
            "accountId",
            20006,
        ),
        (
            {
                "channelProviderId": "cp1",
                "customerIdentifiers": {"e": ["x"]},
                "displayName": "x" * 71,
            },
            "displayName",
            20003,
        ),
        (
            {"channelProviderId": "cp1", "customerIdentifiers": {"k" * 51: ["x"]}},
            "customerIdentifiers." + "k" * 51,
            20003,
        ),
    ],
)
async def test_create_session_constraint_violations(
    emulator: Emulator, body: dict[str, object], field: str, code: int
) -> None:
    answer = await emulator.call("POST", f"{CHAT}/sessions", json=body, validate=False)
    assert answer.status_code == 400
    problem = validate_problem(answer)
    assert {"field": field, "code": code} in [
        {"field": v["field"], "code": v["code"]} for v in problem["violations"]
    ]
    assert problem["title"] == "Constraint Violation"
    validate_exchange(answer, check_request=False)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"channelProviderId": "x"}', "text/plain"),
        (b"[" * 100_000, "application/json"),
        (b'{"a": "' + b"x" * (2 * 1024 * 1024) + b'"}', "application/json"),
        (b"\xff\xfe", "application/json"),
    ],
)
async def test_malformed_bodies_are_400_problems_never_500(
    emulator: Emulator, content: bytes, content_type: str
) -> None:
    answer = await emulator.client.post(
        f"{CHAT}/sessions",
        content=content,
        headers={
            "appkey": "emulator-app-key",
            "Authorization": f"Bearer {emulator.bearer}",
            "Content-Type": content_type,
        },
    )
    assert answer.status_code == 400
    validate_problem(answer)


async def test_bad_path_and_query_parameters_are_400(emulator: Emulator) -> None:
    bad_uuid = await emulator.call("GET", f"{CHAT}/sessions/not-a-uuid", validate=False)
    bad_account = await emulator.call(
        "GET", f"/api/digital/channel/v1/accounts/AB1/sessions/{MISSING}", validate=False
    )
    no_session = await emulator.call("GET", f"{CHAT}/engagements", validate=False)
    for answer, field in (
        (bad_uuid, "sessionId"),
        (bad_account, "accountId"),
        (no_session, "sessionId"),
    ):
        assert answer.status_code == 400
        assert validate_problem(answer)["violations"][0]["field"] == field
        validate_exchange(answer, check_request=False)


async def test_unknown_ids_are_404(emulator: Emulator) -> None:
    sid = (await emulator.new_session())["sessionId"]
    for answer in (
        await emulator.call("GET", f"{CHAT}/sessions/{MISSING}"),
        await emulator.call("GET", f"{CHAT}/engagements/{MISSING}"),
        await emulator.call("GET", f"{CHAT}/engagements", params={"sessionId": MISSING}),
        await emulator.call(
            "POST", f"{CHAT}/engagements", json={"sessionId": MISSING, "channelId": "Chat"}
        ),
        await emulator.call(
            "POST",
            f"{CHAT}/engagements/{MISSING}:join",
            json={"sessionId": sid, "dialogId": MISSING},
        ),
    ):
        assert answer.status_code == 404
        assert validate_problem(answer)["title"] == "Not Found"


async def test_unknown_colon_action_is_404_problem(emulator: Emulator) -> None:
    sid = (await emulator.new_session())["sessionId"]
    answer = await emulator.call("POST", f"{CHAT}/sessions/{sid}:explode", json={}, validate=False)
    assert answer.status_code == 404
    validate_problem(answer)


async def test_engagement_create_get_list_and_second_dialog(
    emulator: Emulator, sink: RecordingSink
) -> None:
    sid = (await emulator.new_session())["sessionId"]
    first = await emulator.new_engagement(
        sid, providerDialogId="pd-1", correlationId="c-1", conversation="sell car"
    )
    dialog = first["dialogs"][0]
    assert dialog["dialogStatus"] == "PENDING"
    assert dialog["providerDialogId"] == "pd-1"
    assert dialog["connections"][0]["participantType"] == "CUSTOMER"
    assert dialog["connections"][0]["sessionIds"] == [sid]
    second = await emulator.new_engagement(sid, providerDialogId="pd-2")
    assert second["engagementId"] == first["engagementId"]
    assert [d["providerDialogId"] for d in second["dialogs"]] == ["pd-1", "pd-2"]
    got = await emulator.call("GET", f"{CHAT}/engagements/{first['engagementId']}")
    assert len(got.json()["dialogs"]) == 2
    listed = await emulator.call("GET", f"{CHAT}/engagements", params={"sessionId": sid})
    assert [e["engagementId"] for e in listed.json()] == [first["engagementId"]]
    assert sink.types()[:2] == [("ENGAGEMENT_CREATED", None), ("PARTICIPANT_ADDED", "CUSTOMER")]
    assert sink.published[0]["correlationId"] == "c-1"


async def test_only_the_chat_channel_is_accepted(emulator: Emulator) -> None:
    sid = (await emulator.new_session())["sessionId"]
    answer = await emulator.call(
        "POST", f"{CHAT}/engagements", json={"sessionId": sid, "channelId": "Email"}
    )
    assert answer.status_code == 400
    assert answer.json()["violations"][0]["field"] == "channelId"


async def test_send_message_is_202_with_id_and_index_and_published_with_provider_id(
    emulator: Emulator, sink: RecordingSink
) -> None:
    sid = (await emulator.new_session())["sessionId"]
    engagement = await emulator.new_engagement(sid)
    first = await emulator.send(
        sid, engagement, "hello", providerMessageId="pm-1", correlationId="c"
    )
    second = await emulator.send(sid, engagement, "again")
    assert first.status_code == 202
    body = first.json()
    assert uuid.UUID(body["messageId"])
    assert (body["messageIndex"], second.json()["messageIndex"]) == (1, 2)
    assert body["providerMessageId"] == "pm-1"
    assert body["correlationId"] == "c"
    assert body["senderParticipantType"] == "CUSTOMER"
    assert body["senderParticipantName"] == "Ann"
    published = [b for b in sink.published if b["eventType"] == "MESSAGES"]
    assert [(b["messageIndex"], b.get("providerMessageId")) for b in published] == [
        (1, "pm-1"),
        (2, None),
    ]
    validate_schema("notification", "MessageEvent", published[0])


async def test_send_message_validation_and_wrong_dialog(emulator: Emulator) -> None:
    sid = (await emulator.new_session())["sessionId"]
    engagement = await emulator.new_engagement(sid)
    too_long = await emulator.send(sid, engagement, "x" * 4097)
    assert too_long.status_code == 400
    assert too_long.json()["violations"][0]["field"] == "body.elementText.text"
    engagement["dialogs"][-1]["dialogId"] = MISSING
    unknown = await emulator.send(sid, engagement, "hi")
    assert unknown.status_code == 404


async def test_other_customers_session_is_forbidden_on_a_dialog(emulator: Emulator) -> None:
    sid = (await emulator.new_session())["sessionId"]
    engagement = await emulator.new_engagement(sid)
    stranger = (await emulator.new_session("eve@example.com"))["sessionId"]
    answer = await emulator.send(stranger, engagement, "hi")
    assert answer.status_code == 403
    validate_problem(answer)


async def test_list_messages_pages_with_links(emulator: Emulator) -> None:
    sid = (await emulator.new_session())["sessionId"]
    engagement = await emulator.new_engagement(sid)
    for n in range(5):
        assert (await emulator.send(sid, engagement, f"m{n}")).status_code == 202
    path = f"{CHAT}/engagements/{engagement['engagementId']}/messages"
    query = {"dialogId": engagement["dialogs"][-1]["dialogId"], "sessionId": sid}
    page1 = (await emulator.call("GET", path, params={**query, "pageSize": "2"})).json()
    page3 = (
        await emulator.call("GET", path, params={**query, "pageSize": "2", "pageNumber": "3"})
    ).json()
    default = (await emulator.call("GET", path, params=query)).json()
    assert [m["body"]["elementText"]["text"] for m in page1["messages"]] == ["m0", "m1"]
    assert page1["pagination"] == {"pageNumber": 1, "pageSize": 2, "total": 5}
    assert page1["links"]["prev"] == ""
    assert "pageNumber=2" in page1["links"]["next"]
    assert [m["messageIndex"] for m in page3["messages"]] == [5]
    assert page3["links"]["next"] == ""
    assert "pageNumber=2" in page3["links"]["prev"]
    assert default["pagination"]["pageSize"] == 10
    for bad in (
        {"pageSize": "0"},
        {"pageSize": "51"},
        {"pageNumber": "0"},
        {"pageSize": "x"},
        {"pageNumber": str(2**31)},
    ):
        answer = await emulator.call("GET", path, params={**query, **bad}, validate=False)
        assert answer.status_code == 400
        validate_exchange(answer, check_request=False)


async def test_customer_disconnect_ends_the_dialog_and_is_idempotent(
    emulator: Emulator, sink: RecordingSink
) -> None:
    sid = (await emulator.new_session())["sessionId"]
    engagement = await emulator.new_engagement(sid)
    eid, did = engagement["engagementId"], engagement["dialogs"][-1]["dialogId"]
    body = {"sessionId": sid, "dialogId": did, "reason": "USER_CLOSED", "correlationId": "bye"}
    first = await emulator.call("POST", f"{CHAT}/engagements/{eid}:disconnect", json=body)
    again = await emulator.call("POST", f"{CHAT}/engagements/{eid}:disconnect", json=body)
    assert first.status_code == again.status_code == 200
    assert first.json() == body
    disconnects = [b for b in sink.published if b["eventType"] == "PARTICIPANT_DISCONNECTED"]
    assert [(b["participantType"], b["correlationId"]) for b in disconnects] == [
        ("CUSTOMER", "bye")
    ]
    got = await emulator.call("GET", f"{CHAT}/engagements/{eid}")
    assert got.json()["dialogs"][0]["dialogStatus"] == "TERMINATED"
    late = await emulator.send(sid, engagement, "still there?")
    assert late.status_code == 400
    validate_problem(late)


async def test_join_adds_another_device_of_the_same_customer(emulator: Emulator) -> None:
    sid = (await emulator.new_session())["sessionId"]
    engagement = await emulator.new_engagement(sid)
    phone = (await emulator.new_session())["sessionId"]
    eid, did = engagement["engagementId"], engagement["dialogs"][-1]["dialogId"]
    joined = await emulator.call(
        "POST", f"{CHAT}/engagements/{eid}:join", json={"sessionId": phone, "dialogId": did}
    )
    assert joined.status_code == 200
    assert joined.json()["dialogs"][0]["connections"][0]["sessionIds"] == [sid, phone]
    assert (await emulator.send(phone, engagement, "from the phone")).status_code == 202


async def test_deleting_the_session_disconnects_the_customer(
    emulator: Emulator, sink: RecordingSink
) -> None:
    sid = (await emulator.new_session())["sessionId"]
    engagement = await emulator.new_engagement(sid)
    await emulator.call("DELETE", f"{CHAT}/sessions/{sid}", params={"reason": "USER_INACTIVE"})
    assert sink.types()[-1] == ("PARTICIPANT_DISCONNECTED", "CUSTOMER")
    got = await emulator.call("GET", f"{CHAT}/engagements/{engagement['engagementId']}")
    assert got.json()["dialogs"][0]["dialogStatus"] == "TERMINATED"


async def _append(emulator: Emulator, sid: str, body: dict[str, list[str]]) -> httpx.Response:
    return await emulator.call(
        "POST", f"{CHAT}/sessions/{sid}:appendIdentifiers", json=body, validate=False
    )


async def test_append_identifiers_keeps_at_most_five_values_of_a_kind(
    emulator: Emulator,
) -> None:
    """Issue 15.8: the sixth value was accepted, and the session then broke Avaya's schema."""
    sid = (await emulator.new_session())["sessionId"]
    filled = await _append(emulator, sid, {"emailAddresses": [f"a{i}@acme.test" for i in range(4)]})
    assert filled.status_code == 200
    validate_exchange(filled)
    again = await _append(emulator, sid, {"emailAddresses": ["a0@acme.test"]})  # not a new value
    assert again.status_code == 200

    refused = await _append(emulator, sid, {"emailAddresses": ["a4@acme.test"]})
    assert refused.status_code == 400
    problem = validate_problem(refused)
    assert problem["title"] == "Constraint Violation"
    assert problem["violations"] == [
        {"field": "customerIdentifiers.emailAddresses", "message": "size must be at most 5",
         "code": 20003}
    ]  # fmt: skip
    validate_exchange(refused, check_request=False)
    got = await emulator.call("GET", f"{CHAT}/sessions/{sid}")  # validated against the spec
    assert len(got.json()["customerIdentifiers"]["emailAddresses"]) == 5


async def test_append_identifiers_keeps_at_most_ten_kinds(emulator: Emulator) -> None:
    sid = (await emulator.new_session())["sessionId"]
    nine_more = {f"kind{i}": [f"v{i}"] for i in range(9)}
    assert (await _append(emulator, sid, nine_more)).status_code == 200
    assert (await _append(emulator, sid, {"kind0": ["w0"]})).status_code == 200  # old kind

    refused = await _append(emulator, sid, {"kind9": ["v9"], "emailAddresses": ["b@acme.test"]})
    assert refused.status_code == 400
    problem = validate_problem(refused)
    assert [(v["field"], v["message"]) for v in problem["violations"]] == [
        ("customerIdentifiers", "size must be at most 10")
    ]
    validate_exchange(refused, check_request=False)
    got = (await emulator.call("GET", f"{CHAT}/sessions/{sid}")).json()["customerIdentifiers"]
    assert len(got) == 10
    assert got["emailAddresses"] == ["ann@example.com"]  # nothing of the refused call was kept
