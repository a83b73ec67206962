"""What the escalation ladder says in Slack, in the case's language (a Chinese case goes to a Chinese team)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

Lang = Literal["en", "zh"]

METRIC_NAMES: dict[str, dict[Lang, str]] = {
    "first_response": {"en": "first response", "zh": "首次响应"},
    "next_response": {"en": "next response", "zh": "后续响应"},
    "resolution": {"en": "resolution", "zh": "解决"},
}

_TEXTS: dict[str, dict[Lang, str]] = {
    "warning": {
        "en": ":warning: {number}: the {metric} target ({target}) is due {due}.",
        "zh": ":warning: {number}：{metric}时限（{target}）将于 {due} 到期。",
    },
    "breach": {
        "en": ":rotating_light: {mention}{number} missed its {metric} target ({target}).",
        "zh": ":rotating_light: {mention}{number} 已超出{metric}时限（{target}）。",
    },
    "reassigned": {
        "en": ":arrows_counterclockwise: {number} was reassigned to <@{agent}> after missing its {metric} target.",
        "zh": ":arrows_counterclockwise: {number} 超出{metric}时限，已转交 <@{agent}>。",
    },
    "escalated": {
        "en": ":sos: {number} ({team}) missed its {metric} target ({target}) and needs attention.",
        "zh": ":sos: {number}（{team}）已超出{metric}时限（{target}），需要处理。",
    },
}


def _language(lang: str) -> Lang:
    return "zh" if lang.startswith("zh") else "en"


def format_target(seconds: int, lang: str) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if _language(lang) == "zh":
        return (f"{hours}小时" if hours else "") + (f"{minutes}分钟" if minutes or not hours else "")
    return " ".join(part for part in (f"{hours}h" if hours else "", f"{minutes}m" if minutes else "") if part) or "0m"


def slack_time(moment: datetime) -> str:
    """Slack shows this in each reader's own time zone; the fallback is UTC."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def alert_text(key: str, lang: str, *, metric: str, **values: object) -> str:
    language = _language(lang)
    metric_name = METRIC_NAMES.get(metric, {}).get(language, metric)
    return _TEXTS[key][language].format(metric=metric_name, **values)


def as_seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())
