"""Slack's wire text (mrkdwn with its entity and angle-bracket markup) as a customer should read it.

Agents write in Slack; customers read on Telegram, WeChat, the web chat, which show plain text. Slack sends
`&lt; &gt; &amp;` for the three characters it escapes, `<url|label>` for links, `<@U123>` for mentions (internal
ids a customer must never see), `<!here>` for broadcasts, `<!date^...|fallback>` for dates, and `*bold*`,
`_italic_`, `~strike~`, `` `code` `` for formatting. Everything is converted in one linear pass per rule, with
no backtracking over unbounded input."""

from __future__ import annotations

import re
from collections.abc import Mapping

_ANGLE = re.compile(r"<([^<>\n]{1,4000})>")
# A formatting marker only counts at word edges, as in Slack: snake_case and 2*3*4 stay as they are.
_FORMATTING = tuple(
    re.compile(rf"(?<![\w{marker}]){re.escape(marker)}(?=\S)([^{marker}\n]{{1,4000}}?)(?<=\S){re.escape(marker)}(?![\w{marker}])")
    for marker in ("*", "_", "~")
)
_CODE_BLOCK = re.compile(r"```\n?([^`]{0,40000}?)\n?```")
_INLINE_CODE = re.compile(r"`([^`\n]{1,4000})`")
_BLANK_RUNS = re.compile(r"[ \t]{2,}")


def _angle(match: re.Match[str], names: Mapping[str, str]) -> str:
    inside = match.group(1)
    target, _, label = inside.partition("|")
    if target.startswith("@"):
        # A mention: the colleague's display name when we know it, never the internal id.
        return names.get(target[1:], label)
    if target.startswith("#"):
        return f"#{label}" if label else ""
    if target.startswith("!"):
        # <!here>, <!channel>, <!everyone> address agents, not customers; <!date^...|fallback> keeps its text.
        return label if target.startswith("!date^") else ""
    if target.startswith("mailto:"):
        return label or target.removeprefix("mailto:")
    if label and label != target:
        return f"{label} ({target})"
    return target


def customer_text(text: str, names: Mapping[str, str] | None = None) -> str:
    """What a customer on a plain-text platform should read for an agent's Slack message."""
    known = names or {}
    converted = _CODE_BLOCK.sub(r"\1", text)
    converted = _INLINE_CODE.sub(r"\1", converted)
    for pattern in _FORMATTING:
        converted = pattern.sub(r"\1", converted)
    converted = _ANGLE.sub(lambda match: _angle(match, known), converted)
    # Entities last: a decoded "&lt;" must not be read as the start of Slack markup.
    converted = converted.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    lines = [_BLANK_RUNS.sub(" ", line).strip() for line in converted.split("\n")]
    return "\n".join(lines).strip()


def slack_text(text: str) -> str:
    """Customer text for a Slack message: escaped so it cannot ping @channel, forge a link or format."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
