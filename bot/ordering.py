"""Outbox ordering keys, one function each: items sharing a key leave strictly in the order they were
queued, items of different keys never wait for each other."""

from __future__ import annotations


def customer_key(channel: str, sender_id: str) -> str:
    """Everything one customer receives on one channel: the bot's replies, agent answers, status updates."""
    return f"{channel}:{sender_id}"


def desk_case_key(case_number: str) -> str:
    """Everything the agent desk hears about one case: filed, changed, the customer's follow-ups."""
    return f"desk:{case_number}"


def case_event_key(case_number: str) -> str:
    """A case's announcements to webhooks and connectors, fanned out in the order they were made."""
    return f"case-event:{case_number}"
