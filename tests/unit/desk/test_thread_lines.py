"""One line per desk event in the case thread, in the team's language, labels instead of codes."""

from __future__ import annotations

import pytest

from bot.desk.events import CaseChanged, DeliveryFailed
from bot.desk.thread_lines import delivery_failed_line, thread_line
from bot.desk.vocabulary import DeskVocabulary, desk_lang, plural_age, resolution_label

WORDS = DeskVocabulary.of(
    [("kettle", "Electric kettle", "电水壶")], [("billing_refund", "Billing / refund", "账单退款")]
)


@pytest.mark.parametrize(
    ("event", "lang", "line"),
    [
        (CaseChanged("PL-1", "acknowledge", "U1"), "en", ":eyes: Acknowledged by <@U1>"),
        (CaseChanged("PL-1", "acknowledge", "U1"), "zh", ":eyes: <@U1> 已确认"),
        (
            CaseChanged("PL-1", "assign", "U2", (("assignee", "U2"), ("previous", "U1"))),
            "en",
            ":bust_in_silhouette: <@U1>, <@U2> took over this case from you.",
        ),
        (
            CaseChanged("PL-1", "assign", "U1", (("assignee", "U2"), ("previous", "U1"))),
            "en",
            ":bust_in_silhouette: <@U1> handed this case to <@U2>.",
        ),
        (
            CaseChanged("PL-1", "assign", "U3", (("assignee", "U2"), ("previous", "U1"))),
            "zh",
            ":bust_in_silhouette: <@U1>，<@U3> 已将此投诉从您转给 <@U2>。",
        ),
        (
            CaseChanged("PL-1", "assign", "U2", (("assignee", "U2"),)),
            "en",
            ":bust_in_silhouette: Assigned to <@U2> by <@U2>",
        ),
        (
            CaseChanged("PL-1", "assigned", "plaint", (("assignee", "U3"),)),
            "en",
            ":bust_in_silhouette: Assigned to <@U3> (round-robin)",
        ),
        (
            CaseChanged("PL-1", "reclassify", "U1", (("product", "kettle"), ("category", "billing_refund"))),
            "zh",
            ":label: <@U1> 重新分类：电水壶 / 账单退款",
        ),
        (
            CaseChanged("PL-1", "resolve", "U1", (("code", "replaced"), ("summary", "x"))),
            "en",
            ":white_check_mark: Resolved by <@U1>: Replaced",
        ),
        (
            CaseChanged("PL-1", "reopen", "U1", (("by", "reply"),)),
            "en",
            ":arrows_counterclockwise: Reopened by <@U1>'s reply",
        ),
        (CaseChanged("PL-1", "close", "plaint"), "en", ":lock: Closed by plaint"),
        (CaseChanged("PL-1"), "en", None),
        (CaseChanged("PL-1", "agent_reply", "U1"), "en", None),
    ],
)
def test_thread_lines(event: CaseChanged, lang: str, line: str | None) -> None:
    assert thread_line(event, lang, WORDS) == line


def test_a_failed_delivery_names_the_agent_and_the_reason_in_both_languages() -> None:
    english = delivery_failed_line(DeliveryFailed("PL-1", "unreachable", "U1"), "en")
    assert english.startswith(":warning: <@U1> the customer did *not* receive") and "blocked the bot" in english
    assert "平台拒绝" in delivery_failed_line(DeliveryFailed("PL-1", "refused", "U1"), "zh")


def test_labels_for_codes_nobody_listed_are_still_words() -> None:
    assert WORDS.category("warranty_claim", "en") == "Warranty claim"
    assert resolution_label("replaced", "zh") == "已换货" and resolution_label(None, "en") == "-"
    assert desk_lang("zh-hans") == "zh" and desk_lang(None) == "en"
    assert [plural_age(seconds, "en") for seconds in (59, 3600 * 5, 3600 * 72)] == ["0 min", "5 h", "3 d"]
