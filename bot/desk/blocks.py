"""Block Kit for the agent desk: the case message (posted once, then updated in place), the reclassify and
resolve modals, and the short texts answered to `/plaint`. Pure functions of a case record."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.desk.lifecycle import CaseAction, CaseStatus, UnknownStatus, allowed_actions, parse_status
from storage.cases import CaseDetails

# Block Kit is JSON; these dicts go straight to slack_sdk and never leave the bot package.
Block = dict[str, Any]

ACKNOWLEDGE_ACTION = "desk_acknowledge"
ASSIGN_TO_ME_ACTION = "desk_assign_to_me"
RECLASSIFY_ACTION = "desk_reclassify"
RESOLVE_ACTION = "desk_resolve"
CLOSE_ACTION = "desk_close"
REOPEN_ACTION = "desk_reopen"
RECLASSIFY_VIEW = "desk_reclassify_view"
RESOLVE_VIEW = "desk_resolve_view"

RESOLUTION_CODES: tuple[tuple[str, str], ...] = (
    ("refunded", "Refunded"),
    ("replaced", "Replaced"),
    ("repaired", "Repaired"),
    ("explained", "Explained / no fault found"),
    ("compensated", "Compensated"),
    ("rejected", "Rejected"),
)

STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.NEW: ":new: New",
    CaseStatus.ACKNOWLEDGED: ":eyes: Acknowledged",
    CaseStatus.IN_PROGRESS: ":hammer_and_wrench: In progress",
    CaseStatus.WAITING_FOR_CUSTOMER: ":hourglass: Waiting for customer",
    CaseStatus.RESOLVED: ":white_check_mark: Resolved",
    CaseStatus.CLOSED: ":lock: Closed",
}

_SECTION_LIMIT = 2900  # Slack refuses section text over 3000 characters


def mask_phone(phone: str) -> str:
    """Only the last four digits stay readable: enough for an agent to confirm, useless to a bystander."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"


def escape_mrkdwn(text: str) -> str:
    # Slack mrkdwn needs only these three escaped; customer text must not ping @channel or forge links.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = _SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _with_confidence(value: str | None, confidence: float | None) -> str:
    if not value:
        return "_unknown_"
    if confidence is None:
        return escape_mrkdwn(value)
    return f"{escape_mrkdwn(value)} ({confidence:.0%})"


def status_label(status: str) -> str:
    try:
        return STATUS_LABELS[parse_status(status)]
    except UnknownStatus:
        return status


def case_text(case: CaseDetails) -> str:
    """The notification's plain text (what Slack shows in alerts and where blocks cannot be rendered)."""
    return f"Case {case.number} ({case.status}): {case.product or 'unknown product'} / {case.category or '?'}"


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _lifecycle_fields(case: CaseDetails) -> list[Block]:
    """Priority and linked cases (the lifecycle room's), when the case has them."""
    fields: list[Block] = []
    if case.priority:
        mark = _PRIORITY_MARKS.get(case.priority, "")
        fields.append({"type": "mrkdwn", "text": f"*Priority*\n{mark}{case.priority}"})
    if case.linked_cases:
        fields.append({"type": "mrkdwn", "text": f"*Linked cases*\n{', '.join(case.linked_cases)}"})
    return fields


_PRIORITY_MARKS = {"urgent": ":red_circle: ", "high": ":large_orange_circle: "}


def case_blocks(case: CaseDetails, evidence_url: Callable[[int], str]) -> list[Block]:
    contact = [
        part
        for part in (
            escape_mrkdwn(case.name) if case.name else None,
            mask_phone(case.phone) if case.phone else None,
            mask_email(case.email) if case.email else None,
        )
        if part
    ]
    assignee = f"<@{case.assignee}>" if case.assignee else "_unassigned_"
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Case {case.number}"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Status*\n{status_label(case.status)}"},
                {"type": "mrkdwn", "text": f"*Assignee*\n{assignee}"},
                {
                    "type": "mrkdwn",
                    "text": f"*Product*\n{_with_confidence(case.product, case.product_confidence)}",
                },
                {
                    "type": "mrkdwn",
                    "text": f"*Category*\n{_with_confidence(case.category, case.category_confidence)}",
                },
                {"type": "mrkdwn", "text": f"*Channel / language*\n{case.channel} / {case.lang}"},
                {"type": "mrkdwn", "text": f"*Contact*\n{', '.join(contact) or '_none given_'}"},
                *_lifecycle_fields(case),
            ],
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _clip(f"*What happened*\n{escape_mrkdwn(case.description or '-')}"),
            },
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*When*\n{escape_mrkdwn(case.occurred_at or '-')}"},
                {
                    "type": "mrkdwn",
                    "text": _clip(f"*Where*\n{escape_mrkdwn(case.occurred_where or '-')}", 1900),
                },
                {
                    "type": "mrkdwn",
                    "text": _clip(f"*Expected resolution*\n{escape_mrkdwn(case.expected_resolution or '-')}", 1900),
                },
            ],
        },
    ]
    if case.evidence:
        links = [
            f"<{evidence_url(item.id)}|{escape_mrkdwn(item.file_name)}> ({item.media_type}, {item.size} bytes)"
            for item in case.evidence
        ]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip("*Evidence*\n" + "\n".join(links))}})
    if case.resolution_summary:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _clip(
                        f"*Resolution* ({case.resolution_code or '-'})\n" + escape_mrkdwn(case.resolution_summary)
                    ),
                },
            }
        )
    buttons = _buttons(case)
    if buttons:
        blocks.append({"type": "actions", "block_id": f"case:{case.number}", "elements": buttons})
    return blocks


def _buttons(case: CaseDetails) -> list[Block]:
    try:
        actions = allowed_actions(parse_status(case.status))
    except UnknownStatus:
        return []
    buttons: list[Block] = []
    if CaseAction.ACKNOWLEDGE in actions:
        buttons.append(_button("Acknowledge", ACKNOWLEDGE_ACTION, case.number, "primary"))
    if CaseAction.ASSIGN in actions:
        buttons.append(_button("Assign to me", ASSIGN_TO_ME_ACTION, case.number))
    if CaseAction.RECLASSIFY in actions:
        buttons.append(_button("Reclassify", RECLASSIFY_ACTION, case.number))
    if CaseAction.RESOLVE in actions:
        buttons.append(_button("Resolve", RESOLVE_ACTION, case.number, "danger"))
    if CaseAction.CLOSE in actions:
        buttons.append(_button("Close", CLOSE_ACTION, case.number))
    if CaseAction.REOPEN in actions:
        buttons.append(_button("Reopen", REOPEN_ACTION, case.number))
    return buttons


def _plain_input(block_id: str, label: str, initial: str | None, multiline: bool = False) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": "value", "multiline": multiline}
    if initial:
        element["initial_value"] = initial
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


def reclassify_view(case: CaseDetails) -> Block:
    return {
        "type": "modal",
        "callback_id": RECLASSIFY_VIEW,
        "private_metadata": case.number,
        "title": {"type": "plain_text", "text": f"Reclassify {case.number}"[:24]},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _plain_input("product", "Product", case.product),
            _plain_input("category", "Category", case.category),
        ],
    }


def resolve_view(case: CaseDetails) -> Block:
    options = [{"text": {"type": "plain_text", "text": label}, "value": code} for code, label in RESOLUTION_CODES]
    return {
        "type": "modal",
        "callback_id": RESOLVE_VIEW,
        "private_metadata": case.number,
        "title": {"type": "plain_text", "text": f"Resolve {case.number}"[:24]},
        "submit": {"type": "plain_text", "text": "Resolve"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _plain_input("summary", "Resolution summary (sent to the customer)", None, multiline=True),
            {
                "type": "input",
                "block_id": "code",
                "label": {"type": "plain_text", "text": "Resolution code"},
                "element": {"type": "static_select", "action_id": "value", "options": options},
            },
        ],
    }


def case_line(case: CaseDetails) -> str:
    assignee = f"<@{case.assignee}>" if case.assignee else "unassigned"
    return (
        f"*{case.number}* · {status_label(case.status)} · {case.product or '?'} / {case.category or '?'}"
        f" · {case.team or 'no team'} · {assignee}"
    )
