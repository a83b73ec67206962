"""Agents' Slack text reaches customers clean: entities decoded, links readable, no internal ids."""

from __future__ import annotations

from bot.desk.slack_text import customer_text, slack_text


def test_the_reply_from_the_issue_arrives_clean() -> None:
    wire = ("Refund &lt; 100 EUR &amp; a voucher, see <https://example.com/faq|our FAQ>, my colleague "
            "<@U0AGUKCWFS0> will call. *Thanks*")
    assert customer_text(wire, {"U0AGUKCWFS0": "Lena"}) == (
        "Refund < 100 EUR & a voucher, see our FAQ (https://example.com/faq), my colleague Lena will call. Thanks"
    )
    # Without a known name the mention disappears: a customer never reads a Slack user id.
    assert "U0AGUKCWFS0" not in customer_text(wire)
    assert customer_text(wire).endswith("my colleague will call. Thanks")


def test_every_kind_of_markup() -> None:
    assert customer_text("<https://x.example>") == "https://x.example"
    assert customer_text("<mailto:help@x.example|help@x.example>") == "help@x.example"
    assert customer_text("<!here> please look") == "please look"
    assert customer_text("due <!date^1764400000^{date_short}|Nov 29>") == "due Nov 29"
    assert customer_text("see <#C123|returns>") == "see #returns"
    assert customer_text("_soon_ and ~never~ `code`") == "soon and never code"
    assert customer_text("```\nline 1\nline 2\n```") == "line 1\nline 2"


def test_what_is_not_markup_stays() -> None:
    assert customer_text("order_no is 55_1029 and 2*3*4 = 24") == "order_no is 55_1029 and 2*3*4 = 24"
    assert customer_text("a &amp;lt; b") == "a &lt; b"  # an escaped entity stays text, decoded once
    assert customer_text("5 * 3") == "5 * 3"


def test_customer_text_cannot_ping_or_forge_links_in_slack() -> None:
    assert slack_text("<!channel> <https://evil.example|bank> & co") == (
        "&lt;!channel&gt; &lt;https://evil.example|bank&gt; &amp; co"
    )


def test_hostile_sizes_come_back_unchanged() -> None:
    # Each pattern is bounded and anchored, so these take milliseconds (a backtracking pattern would hang here).
    for text in ("*" * 200_000, "<" * 200_000, "_a" * 100_000):
        assert customer_text(text) == text
    assert set(customer_text("`" * 200_001)) <= {"`"}  # empty code spans vanish, the rest stays
    assert customer_text("<@" + "U" * 200_000 + ">").startswith("<@UUU")  # too long to be a mention: left alone
