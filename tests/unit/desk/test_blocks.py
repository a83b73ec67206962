"""The case message: masked contact details, escaped customer text, buttons that follow the lifecycle."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.desk.blocks import case_blocks, mask_email, mask_phone, reclassify_view, resolve_view
from bot.desk.vocabulary import DeskVocabulary
from storage.cases import CaseDetails, EvidenceItem

CASE = CaseDetails(
    id=1,
    number="PL-ABC234",
    status="new",
    channel="telegram",
    sender_id="42",
    lang="zh",
    name="王小明",
    phone="+86 138 1234 5678",
    email="xiaoming@example.cn",
    description="水壶漏水 <!channel> & 烫伤",
    occurred_at="2026-11-20 15:00",
    occurred_where="上海 南京路店",
    product="电水壶",
    product_confidence=0.87,
    category="product_quality",
    category_confidence=0.6,
    expected_resolution="refund",
    team="china",
    assignee=None,
    slack_channel=None,
    slack_ts=None,
    resolution_summary=None,
    resolution_code=None,
    created_at=datetime(2026, 11, 21, tzinfo=UTC),
    updated_at=datetime(2026, 11, 21, tzinfo=UTC),
    extra={},
    evidence=(EvidenceItem(7, "photo.jpg", "image/jpeg", 2048, "0" * 64, "00/00/" + "0" * 64),),
)


def rendered(case: CaseDetails) -> str:
    blocks = case_blocks(case, lambda evidence_id: f"https://plaint.example/evidence/{evidence_id}?sig=x")
    return json.dumps(blocks, ensure_ascii=False)


def button_ids(case: CaseDetails) -> list[str]:
    actions = [block for block in case_blocks(case, str) if block["type"] == "actions"]
    return [element["action_id"] for block in actions for element in block["elements"]]


@pytest.mark.parametrize(
    ("phone", "masked"), [("+86 138 1234 5678", "*********5678"), ("020 7946", "***7946"), ("123", "***")]
)
def test_phone_keeps_only_the_last_four_digits(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_email_keeps_the_first_letter_and_domain() -> None:
    assert mask_email("xiaoming@example.cn") == "x***@example.cn"
    assert mask_email("not-an-email") == "***"


def test_everything_an_agent_needs_without_raw_contact_details() -> None:
    shown = rendered(CASE)
    for expected in (
        "PL-ABC234",
        "电水壶 (87%)",
        "Product quality (60%)",
        "上海 南京路店",
        "2026-11-20 15:00",
        "refund",
        "Telegram / Chinese",
        "王小明",
        "*********5678",
        "x***@example.cn",
        "<https://plaint.example/evidence/7?sig=x|photo.jpg> · image/jpeg · 2.0 KB",
        "_unassigned_",
    ):
        assert expected in shown, expected
    assert "1234 5678" not in shown and "xiaoming@" not in shown
    # Customer text cannot ping the channel or forge links.
    assert "<!channel>" not in shown and "&lt;!channel&gt; &amp; 烫伤" in shown


@pytest.mark.parametrize(
    ("status", "buttons"),
    [
        ("new", ["desk_acknowledge", "desk_assign_to_me", "desk_reclassify", "desk_resolve", "desk_assign_to"]),
        ("acknowledged", ["desk_assign_to_me", "desk_reclassify", "desk_resolve", "desk_assign_to"]),
        ("waiting_for_customer", ["desk_assign_to_me", "desk_reclassify", "desk_resolve", "desk_assign_to"]),
        ("resolved", ["desk_reclassify", "desk_close", "desk_reopen"]),
        ("closed", ["desk_reopen"]),
        ("something_else", []),
    ],
)
def test_buttons_offer_only_what_the_lifecycle_allows(status: str, buttons: list[str]) -> None:
    assert button_ids(replace(CASE, status=status)) == buttons


def test_resolution_and_assignee_are_shown() -> None:
    shown = rendered(
        replace(CASE, status="resolved", assignee="UAGENT1", resolution_summary="退款完成", resolution_code="refunded")
    )
    assert "<@UAGENT1>" in shown and "退款完成" in shown and "(Refunded)" in shown


def test_modals_carry_the_case_number_and_prefill_the_current_values() -> None:
    reclassify = reclassify_view(CASE)
    assert reclassify["private_metadata"] == "PL-ABC234"
    assert [block["element"].get("initial_value") for block in reclassify["blocks"]] == ["电水壶", "product_quality"]
    resolve = resolve_view(CASE)
    assert resolve["private_metadata"] == "PL-ABC234"
    assert {block["block_id"] for block in resolve["blocks"]} == {"summary", "code"}
    assert len(resolve["title"]["text"]) <= 24


WORDS = DeskVocabulary.of(
    [("kettle", "Electric kettle", "电水壶"), ("washing_machine", "Washing machine", "洗衣机")],
    [("product_quality", "Product quality", "产品质量"), ("delivery_logistics", "Delivery / logistics", "物流配送")],
)
KETTLE_CASE = replace(CASE, product="kettle", status="waiting_for_customer", resolution_code="refunded",
                      resolution_summary="ok")


def test_the_case_message_carries_words_and_a_date_each_agent_reads_in_their_time_zone() -> None:
    now = CASE.created_at + timedelta(hours=5, minutes=3)
    blocks = case_blocks(KETTLE_CASE, str, lang="en", vocabulary=WORDS, now=now)
    shown = json.dumps(blocks, ensure_ascii=False)
    assert f"<!date^{int(CASE.created_at.timestamp())}^{{date_short_pretty}} {{time}}|2026-11-21 00:00 UTC>" in shown
    assert "5 h ago" in shown
    for label in ("Electric kettle (87%)", "Product quality (60%)", "Waiting for customer", "Telegram / Chinese",
                  "(Refunded)"):
        assert label in shown, label
    # No raw code an agent would have to decode.
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", _visible_text(blocks)), _visible_text(blocks)


def test_a_chinese_desk_reads_chinese_chrome_and_labels() -> None:
    blocks = case_blocks(KETTLE_CASE, str, lang="zh", vocabulary=WORDS, now=CASE.created_at + timedelta(days=3))
    shown = _visible_text(blocks)
    for label in ("投诉 PL-ABC234", "电水壶 (87%)", "产品质量 (60%)", "等待客户回复", "Telegram / 中文", "已退款",
                  "3 天前", "[重新分类]", "[解决]"):
        assert label in shown, label
    assert "Status" not in shown and "Acknowledge" not in shown


def test_image_evidence_is_previewed_only_behind_an_absolute_link() -> None:
    public = case_blocks(CASE, lambda evidence_id: f"https://plaint.example/evidence/{evidence_id}?sig=x")
    assert [block["image_url"] for block in public if block["type"] == "image"] == [
        "https://plaint.example/evidence/7?sig=x"
    ]
    relative = case_blocks(CASE, lambda evidence_id: f"/evidence/{evidence_id}?sig=x")
    assert not [block for block in relative if block["type"] == "image"]


def test_reclassify_offers_selects_of_the_catalog_and_the_taxonomy() -> None:
    view = reclassify_view(KETTLE_CASE, "zh", WORDS)
    product, category = view["blocks"]
    assert product["element"]["type"] == category["element"]["type"] == "static_select"
    assert [option["value"] for option in product["element"]["options"]] == ["kettle", "washing_machine"]
    assert product["element"]["initial_option"]["text"]["text"] == "电水壶"
    assert category["element"]["initial_option"]["value"] == "product_quality"
    assert view["title"]["text"].startswith("重新分类")


def _visible_text(blocks: list[dict[str, object]]) -> str:
    parts: list[str] = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(str(text.get("text")))
        for item in block.get("fields") or block.get("elements") or []:  # type: ignore[attr-defined]
            label = item.get("text")
            parts.append(f"[{label.get('text')}]" if item.get("type") == "button" else str(label))
    # Emoji codes (:hourglass:) are pictures to the reader; Slack shows a link's or a date's label, not its markup.
    shown = re.sub(r":[a-z_0-9]+:", "", "\n".join(parts))
    return re.sub(r"<[^<>|]*\|([^<>]*)>", r"\1", shown)


def test_the_sla_is_shown_in_the_desks_language_with_a_date_each_agent_reads_in_their_zone() -> None:
    due = datetime(2026, 11, 21, 14, tzinfo=UTC)
    active = json.dumps(
        case_blocks(replace(CASE, sla_state="active", sla_due_at=due), str, lang="en"), ensure_ascii=False
    )
    assert "*SLA*" in active and f"on track · due <!date^{int(due.timestamp())}^" in active
    missed = json.dumps(
        case_blocks(replace(CASE, sla_state="missed", sla_breached_metric="first_response"), str, lang="zh"),
        ensure_ascii=False,
    )
    assert "服务时限" in missed and "已超时*：首次响应" in missed and "first_response" not in missed
    assert "*SLA*" not in json.dumps(case_blocks(CASE, str))  # no SLA, no field


def test_the_other_teams_are_offered_to_move_the_case_to() -> None:
    blocks = case_blocks(CASE, str, teams=("general", "china", "webdesk"))
    [select] = [element for block in blocks if block["type"] == "actions" for element in block["elements"]
                if element["type"] == "static_select"]
    assert [option["value"] for option in select["options"]] == ["general", "webdesk"]
    resolved = replace(CASE, status="closed")
    assert "static_select" not in json.dumps(case_blocks(resolved, str, teams=("general",)))
