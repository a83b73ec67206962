"""The few customer-facing sentences the orchestrator itself says (the flow says everything else)."""

from __future__ import annotations

from typing import Literal

Lang = Literal["en", "zh"]

STATUS_LABELS: dict[str, dict[Lang, str]] = {
    "new": {"en": "received", "zh": "已受理"},
    "acknowledged": {"en": "acknowledged by our team", "zh": "客服已确认"},
    "in_progress": {"en": "being handled", "zh": "处理中"},
    "waiting_for_customer": {"en": "waiting for your reply", "zh": "等待您的回复"},
    "resolved": {"en": "resolved", "zh": "已解决"},
    "closed": {"en": "closed", "zh": "已关闭"},
}

_TEXTS: dict[str, dict[Lang, str]] = {
    "status_none": {
        "en": "You have no open cases.",
        "zh": "您目前没有处理中的投诉。",
    },
    "status_header": {"en": "Your cases:", "zh": "您的投诉："},
    "status_line": {"en": "• {number}: {status}", "zh": "• {number}：{status}"},
    "follow_up_added": {
        "en": "Thank you, we added your message to case {number}. To file a new complaint, send \"new\".",
        "zh": "谢谢，您的消息已补充到投诉 {number}。如需提交新的投诉，请发送“新投诉”。",
    },
    "file_too_large": {
        "en": "The file {name} is larger than {limit} and could not be received.",
        "zh": "文件 {name} 超过 {limit}，无法接收。",
    },
    "agent_reply": {
        "en": "Reply from our team about case {number}:\n{text}",
        "zh": "关于投诉 {number} 的客服回复：\n{text}",
    },
    "case_resolved": {
        "en": "Your case {number} is resolved: {summary}",
        "zh": "您的投诉 {number} 已处理完毕：{summary}",
    },
}

NEW_COMPLAINT_WORDS = frozenset({"new", "/new", "new complaint", "新投诉", "新的投诉"})


def say(key: str, lang: str, **values: object) -> str:
    language: Lang = "zh" if lang == "zh" else "en"
    return _TEXTS[key][language].format(**values)


def status_label(status: str, lang: str) -> str:
    language: Lang = "zh" if lang == "zh" else "en"
    return STATUS_LABELS.get(status, {}).get(language, status)
