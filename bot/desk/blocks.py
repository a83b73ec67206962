"""Block Kit for the agent desk: the case message (posted once, then updated in place), the reclassify and
resolve modals, and the short texts answered to `/plaint`. Pure functions of a case record."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.desk.lifecycle import CaseAction, UnknownStatus, allowed_actions, parse_status
from bot.desk.vocabulary import (
    LANGUAGES,
    RESOLUTION_CODES,
    DeskVocabulary,
    channel_label,
    desk_says,
    label_of,
    plural_age,
    priority_label,
    resolution_label,
)
from bot.desk.vocabulary import status_label as _status_label
from storage.cases import CaseDetails

# Block Kit is JSON; these dicts go straight to slack_sdk and never leave the bot package.
Block = dict[str, Any]

ACKNOWLEDGE_ACTION = "desk_acknowledge"
ASSIGN_TO_ME_ACTION = "desk_assign_to_me"
# A users_select in the case message: assign to a named colleague (the case number is in the block id).
ASSIGN_TO_ACTION = "desk_assign_to"
# A static_select of the other teams: the case moves to that team's channel.
ASSIGN_TEAM_ACTION = "desk_assign_team"
CASE_BLOCK_PREFIX = "case:"
RECLASSIFY_ACTION = "desk_reclassify"
RESOLVE_ACTION = "desk_resolve"
CLOSE_ACTION = "desk_close"
REOPEN_ACTION = "desk_reopen"
RECLASSIFY_VIEW = "desk_reclassify_view"
RESOLVE_VIEW = "desk_resolve_view"

_NO_WORDS = DeskVocabulary()
# Image evidence shown inline (Slack fetches it from the public URL); more would bury the case.
_MAX_PREVIEWS = 3

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


def _with_confidence(label: str | None, confidence: float | None, lang: str) -> str:
    if not label:
        return desk_says("unknown", lang)
    if confidence is None:
        return escape_mrkdwn(label)
    return f"{escape_mrkdwn(label)} ({confidence:.0%})"


def status_label(status: str, lang: str = "en") -> str:
    return _status_label(status, lang)


def slack_date(moment: datetime) -> str:
    """A date every agent reads in their own time zone (Slack formats it), with a UTC fallback."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    fallback = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(aware.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def case_text(case: CaseDetails, lang: str = "en", vocabulary: DeskVocabulary = _NO_WORDS) -> str:
    """The notification's plain text (what Slack shows in alerts and where blocks cannot be rendered)."""
    status = re.sub(r":[a-z_]+: ", "", status_label(case.status, lang))
    product = vocabulary.product(case.product, lang) or "?"
    category = vocabulary.category(case.category, lang) or "?"
    return f"{desk_says('case', lang, number=case.number)} ({status}): {product} / {category}"


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


def sla_text(case: CaseDetails, lang: str) -> str | None:
    """The SLA as the lifecycle stored it, in the desk's language: on track with its due time (each agent reads
    it in their own time zone), met, or breached with the metric; None for a case without an SLA."""
    if case.sla_state == "missed":
        metric = case.sla_breached_metric or ""
        key = f"sla_metric_{metric}"
        words = desk_says(key, lang) if key in SLA_METRIC_KEYS else escape_mrkdwn(metric.replace("_", " ") or "-")
        return desk_says("sla_missed", lang, metric=words)
    if case.sla_state == "hit":
        return desk_says("sla_hit", lang)
    if case.sla_state == "active":
        if case.sla_due_at is None:
            return desk_says("sla_active_no_due", lang)
        return desk_says("sla_active", lang, due=slack_date(case.sla_due_at))
    return None


SLA_METRIC_KEYS = frozenset({"sla_metric_first_response", "sla_metric_next_response", "sla_metric_resolution"})


def _lifecycle_fields(case: CaseDetails, lang: str) -> list[Block]:
    """SLA, priority and linked cases (the lifecycle room's), when the case has them."""
    fields: list[Block] = []
    sla = sla_text(case, lang)
    if sla:
        fields.append({"type": "mrkdwn", "text": f"*{desk_says('sla', lang)}*\n{sla}"})
    if case.priority:
        priority = priority_label(case.priority, lang)
        fields.append({"type": "mrkdwn", "text": f"*{desk_says('priority', lang)}*\n{priority}"})
    if case.linked_cases:
        linked = ", ".join(case.linked_cases)
        fields.append({"type": "mrkdwn", "text": f"*{desk_says('linked_cases', lang)}*\n{linked}"})
    return fields


def case_blocks(
    case: CaseDetails,
    evidence_url: Callable[[int], str],
    *,
    lang: str = "en",
    vocabulary: DeskVocabulary = _NO_WORDS,
    now: datetime | None = None,
    teams: Sequence[str] = (),
) -> list[Block]:
    """The case message in the team's language `lang`: labels, never snake_case codes. `teams`: the desk's teams,
    offered (but the case's own) to move the case to."""
    contact = [
        part
        for part in (
            escape_mrkdwn(case.name) if case.name else None,
            mask_phone(case.phone) if case.phone else None,
            mask_email(case.email) if case.email else None,
        )
        if part
    ]
    def says(key: str) -> str:
        return desk_says(key, lang)

    assignee = f"<@{case.assignee}>" if case.assignee else says("unassigned")
    product = _with_confidence(vocabulary.product(case.product, lang), case.product_confidence, lang)
    category = _with_confidence(vocabulary.category(case.category, lang), case.category_confidence, lang)
    spoken = label_of(LANGUAGES, case.lang, lang)
    age = plural_age(((now or datetime.now(UTC)) - case.created_at).total_seconds(), lang)
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": desk_says("case", lang, number=case.number)}},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": desk_says("filed", lang, date=slack_date(case.created_at), age=age)}
            ],
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{says('status')}*\n{status_label(case.status, lang)}"},
                {"type": "mrkdwn", "text": f"*{says('assignee')}*\n{assignee}"},
                {"type": "mrkdwn", "text": f"*{says('product')}*\n{product}"},
                {"type": "mrkdwn", "text": f"*{says('category')}*\n{category}"},
                {
                    "type": "mrkdwn",
                    "text": f"*{says('channel_language')}*\n{channel_label(case.channel, lang)} / {spoken}",
                },
                {"type": "mrkdwn", "text": f"*{says('contact')}*\n{', '.join(contact) or says('none_given')}"},
                *_lifecycle_fields(case, lang),
            ],
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _clip(f"*{says('what_happened')}*\n{escape_mrkdwn(case.description or '-')}"),
            },
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{says('when')}*\n{escape_mrkdwn(case.occurred_at or '-')}"},
                {
                    "type": "mrkdwn",
                    "text": _clip(f"*{says('where')}*\n{escape_mrkdwn(case.occurred_where or '-')}", 1900),
                },
                {
                    "type": "mrkdwn",
                    "text": _clip(
                        f"*{says('expected_resolution')}*\n{escape_mrkdwn(case.expected_resolution or '-')}", 1900
                    ),
                },
            ],
        },
    ]
    blocks += _evidence_blocks(case, evidence_url, lang)
    if case.resolution_summary:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _clip(
                        f"*{says('resolution')}* ({resolution_label(case.resolution_code, lang)})\n"
                        + escape_mrkdwn(case.resolution_summary)
                    ),
                },
            }
        )
    buttons = _buttons(case, lang)
    other_teams = [team for team in teams if team != case.team][:100]
    if buttons and other_teams and any(button["action_id"] == ASSIGN_TO_ACTION for button in buttons):
        buttons.append({
            "type": "static_select",
            "action_id": ASSIGN_TEAM_ACTION,
            "placeholder": {"type": "plain_text", "text": desk_says("assign_team", lang)},
            "options": [
                {"text": {"type": "plain_text", "text": team[:75]}, "value": team} for team in other_teams
            ],
        })
    if buttons:
        blocks.append({"type": "actions", "block_id": f"{CASE_BLOCK_PREFIX}{case.number}", "elements": buttons})
    return blocks


def _evidence_blocks(case: CaseDetails, evidence_url: Callable[[int], str], lang: str) -> list[Block]:
    """Readable names and sizes behind signed links; the first images previewed when the link is public."""
    if not case.evidence:
        return []
    lines = []
    for index, item in enumerate(case.evidence, start=1):
        kind = item.media_type.split("/")[0] if "/" in item.media_type else item.media_type
        name = escape_mrkdwn(item.file_name or f"{kind}-{index}")
        media = escape_mrkdwn(item.media_type)
        lines.append(f"{index}. <{evidence_url(item.id)}|{name}> · {media} · {human_size(item.size)}")
    listing = _clip(f"*{desk_says('evidence', lang)}*\n" + "\n".join(lines))
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": listing}}]
    images = [item for item in case.evidence if item.media_type.startswith("image/")][:_MAX_PREVIEWS]
    for item in images:
        url = evidence_url(item.id)
        # Slack fetches image_url itself: only an absolute public link can be previewed.
        if url.startswith(("https://", "http://")):
            blocks.append({"type": "image", "image_url": url, "alt_text": item.file_name[:2000] or "evidence"})
    return blocks


def _buttons(case: CaseDetails, lang: str = "en") -> list[Block]:
    try:
        actions = allowed_actions(parse_status(case.status))
    except UnknownStatus:
        return []
    buttons: list[Block] = []
    for action, key, action_id, style in (
        (CaseAction.ACKNOWLEDGE, "button_acknowledge", ACKNOWLEDGE_ACTION, "primary"),
        (CaseAction.ASSIGN, "button_assign_to_me", ASSIGN_TO_ME_ACTION, None),
        (CaseAction.RECLASSIFY, "button_reclassify", RECLASSIFY_ACTION, None),
        (CaseAction.RESOLVE, "button_resolve", RESOLVE_ACTION, "danger"),
        (CaseAction.CLOSE, "button_close", CLOSE_ACTION, None),
        (CaseAction.REOPEN, "button_reopen", REOPEN_ACTION, None),
    ):
        if action in actions:
            buttons.append(_button(desk_says(key, lang), action_id, case.number, style))
    if CaseAction.ASSIGN in actions:
        buttons.append({
            "type": "users_select",
            "action_id": ASSIGN_TO_ACTION,
            "placeholder": {"type": "plain_text", "text": desk_says("assign_to", lang)},
        })
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


def _option(value: str, label: str) -> Block:
    return {"text": {"type": "plain_text", "text": label[:75]}, "value": value[:150]}


def _select(block_id: str, label: str, options: list[Block], initial: str | None) -> Block:
    # Slack allows 100 options per static select: a larger catalog is cut (the current value stays first).
    element: Block = {"type": "static_select", "action_id": "value", "options": options[:100]}
    chosen = next((option for option in options if option["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
        if chosen not in element["options"]:
            element["options"] = [chosen, *options[:99]]
    return {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


def reclassify_view(case: CaseDetails, lang: str = "en", vocabulary: DeskVocabulary = _NO_WORDS) -> Block:
    """Selects of the catalog's products and the taxonomy's categories; free text only when neither is known."""
    product = desk_says("product", lang)
    category = desk_says("category", lang)
    products = [_option(code, label(lang)) for code, label in vocabulary.products.items()]
    categories = [_option(code, label(lang)) for code, label in vocabulary.categories.items()]
    return {
        "type": "modal",
        "callback_id": RECLASSIFY_VIEW,
        "private_metadata": case.number,
        "title": {"type": "plain_text", "text": desk_says("reclassify_title", lang, number=case.number)[:24]},
        "submit": {"type": "plain_text", "text": desk_says("save", lang)},
        "close": {"type": "plain_text", "text": desk_says("cancel", lang)},
        "blocks": [
            _select("product", product, products, case.product) if products
            else _plain_input("product", product, case.product),
            _select("category", category, categories, case.category) if categories
            else _plain_input("category", category, case.category),
        ],
    }


def resolve_view(case: CaseDetails, lang: str = "en") -> Block:
    options = [_option(code, label(lang)) for code, label in RESOLUTION_CODES.items()]
    return {
        "type": "modal",
        "callback_id": RESOLVE_VIEW,
        "private_metadata": case.number,
        "title": {"type": "plain_text", "text": desk_says("resolve_title", lang, number=case.number)[:24]},
        "submit": {"type": "plain_text", "text": desk_says("button_resolve", lang)},
        "close": {"type": "plain_text", "text": desk_says("cancel", lang)},
        "blocks": [
            _plain_input("summary", desk_says("summary_label", lang), None, multiline=True),
            {
                "type": "input",
                "block_id": "code",
                "label": {"type": "plain_text", "text": desk_says("code_label", lang)},
                "element": {"type": "static_select", "action_id": "value", "options": options},
            },
        ],
    }


def case_line(case: CaseDetails, lang: str = "en", vocabulary: DeskVocabulary = _NO_WORDS) -> str:
    assignee = f"<@{case.assignee}>" if case.assignee else desk_says("unassigned", lang)
    product = vocabulary.product(case.product, lang) or "?"
    category = vocabulary.category(case.category, lang) or "?"
    return (
        f"*{case.number}* · {status_label(case.status, lang)} · {escape_mrkdwn(product)} / {escape_mrkdwn(category)}"
        f" · {case.team or '-'} · {assignee}" + (f" · {sla}" if (sla := sla_text(case, lang)) else "")
    )
