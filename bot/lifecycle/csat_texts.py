"""What the satisfaction survey says to customers and to the team, in English and Chinese."""

from __future__ import annotations

from typing import Literal

Lang = Literal["en", "zh"]

SCORE_LABELS: dict[Lang, tuple[str, ...]] = {
    "en": ("1 – Very poor", "2 – Poor", "3 – OK", "4 – Good", "5 – Excellent"),
    "zh": ("1 – 非常不满意", "2 – 不满意", "3 – 一般", "4 – 满意", "5 – 非常满意"),
}

_TEXTS: dict[str, dict[Lang, str]] = {
    "question": {
        "en": "How did we handle case {number}? Please rate it from 1 (very poor) to 5 (excellent).",
        "zh": "你对投诉 {number} 的处理满意吗？请打分：1（非常不满意）到 5（非常满意）。",
    },
    "thanks": {
        "en": "Thank you for rating case {number} {score}/5.",
        "zh": "感谢你为投诉 {number} 打分：{score}/5。",
    },
    "comment_prompt": {
        "en": "Anything you would like to add? Write it here, or send \"skip\".",
        "zh": "还有什么想告诉我们的吗？请直接回复，或发送“跳过”。",
    },
    "low_score_reopened": {
        "en": "We are sorry. Case {number} is open again and our team will get back to you.",
        "zh": "非常抱歉。投诉 {number} 已重新打开，我们的团队会再联系你。",
    },
    "comment_thanks": {
        "en": "Thank you, we passed your comment to the team.",
        "zh": "谢谢，你的意见已转达给团队。",
    },
    "comment_skipped": {
        "en": "Thank you for your feedback.",
        "zh": "感谢你的反馈。",
    },
    "already_answered": {
        "en": "You already rated case {number} ({score}/5), thank you. Only the first answer counts.",
        "zh": "你已经为投诉 {number} 打过分（{score}/5），谢谢。只记录第一次的评分。",
    },
    # For the team, in the case thread.
    "team_score": {
        "en": ":star: The customer rated {number} {score}/5.",
        "zh": ":star: 客户为 {number} 打分：{score}/5。",
    },
    "team_low_reopened": {
        "en": ":rotating_light: {mention}Low satisfaction score ({score}/5): {number} was reopened.",
        "zh": ":rotating_light: {mention}满意度低（{score}/5）：{number} 已重新打开。",
    },
    "team_low_escalated": {
        "en": ":rotating_light: {mention}Low satisfaction score ({score}/5) on {number}: please follow up.",
        "zh": ":rotating_light: {mention}{number} 满意度低（{score}/5），请跟进。",
    },
    "team_comment": {
        "en": ":speech_balloon: The customer's comment on the rating: {comment}",
        "zh": ":speech_balloon: 客户对评分的补充：{comment}",
    },
}

SKIP_WORDS = frozenset({"skip", "no", "no thanks", "跳过", "不用", "没有", "不用了"})


def language(lang: str) -> Lang:
    return "zh" if lang.startswith("zh") else "en"


def csat_text(key: str, lang: str, **values: object) -> str:
    return _TEXTS[key][language(lang)].format(**values)
