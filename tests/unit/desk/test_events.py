from __future__ import annotations

import pytest

from bot.desk.events import (
    CaseChanged,
    CaseFiled,
    CaseMoved,
    CustomerMessage,
    DeliveryFailed,
    DeskEvent,
    UnknownDeskEvent,
    desk_event_from_payload,
    desk_event_key,
    desk_event_to_payload,
)
from bot.messages import Button, Outbound, OutboundFile, outbound_from_payload, outbound_to_payload
from bot.ordering import customer_key, desk_case_key


@pytest.mark.parametrize(
    "event",
    [
        CaseFiled("PL-ABC234"),
        CaseChanged("PL-ABC234"),
        CaseChanged("PL-ABC234", "assign", "U2", (("assignee", "U2"), ("previous", "U1"))),
        CustomerMessage("PL-ABC234", "还没收到 <b>"),
        DeliveryFailed("PL-ABC234", "unreachable", "U1"),
        CaseMoved("PL-ABC234", "webdesk", "general", "C0WEB", "1.0001", "U2", "U1"),
    ],
)
def test_desk_events_round_trip_through_the_outbox_payload(event: DeskEvent) -> None:
    assert desk_event_from_payload(desk_event_to_payload(event)) == event
    assert desk_event_key(event) == desk_case_key("PL-ABC234")


def test_payloads_written_before_the_types_still_read() -> None:
    assert desk_event_from_payload({"event": "case_filed", "case_number": "PL-X"}) == CaseFiled("PL-X")
    # The lifecycle room's re-render request carries no action: no thread line.
    assert desk_event_from_payload({"event": "case_changed", "case_number": "PL-X"}) == CaseChanged("PL-X")


@pytest.mark.parametrize("payload", [{"event": "case_exploded", "case_number": "PL-X"}, {"event": "case_filed"}, {}])
def test_an_unknown_desk_event_is_refused_with_its_payload(payload: dict[str, str]) -> None:
    with pytest.raises(UnknownDeskEvent) as raised:
        desk_event_from_payload(payload)
    assert raised.value.payload == payload


def test_ordering_keys_keep_channels_and_cases_apart() -> None:
    assert customer_key("web", "abc") != customer_key("telegram", "abc")
    assert desk_case_key("PL-1") != desk_case_key("PL-2")


def test_button_roles_survive_the_outbox_and_old_rows_default_to_answer() -> None:
    message = Outbound("web", "s1", "Submit?", (Button("_confirm", "Confirm", "confirm"), Button("x", "X")))
    assert outbound_from_payload("web", outbound_to_payload(message), None).buttons == message.buttons
    old = {"recipient_id": "s1", "text": "Submit?", "buttons": [["_confirm", "Confirm"]]}
    assert outbound_from_payload("web", old, 7).buttons == (Button("_confirm", "Confirm", "answer"),)


def test_an_outbound_file_round_trips_without_its_stream_or_link() -> None:
    message = Outbound("telegram", "42", "Here", kind="agent_reply",
                       files=(OutboundFile("label.pdf", "application/pdf", 1234, 7, url="https://x/e/7?sig=s"),))
    restored = outbound_from_payload("telegram", outbound_to_payload(message), 9)
    # The signed link is made when the message is sent (links expire); the outbox keeps the evidence id.
    assert restored.files == (OutboundFile("label.pdf", "application/pdf", 1234, 7),)
    assert "url" not in str(outbound_to_payload(message))
