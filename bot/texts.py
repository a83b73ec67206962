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
    # Relayed from the agent desk.
    "agent_reply": {
        "en": "Message from our support team about case {number}:\n{text}",
        "zh": "关于投诉 {number}，客服回复：\n{text}",
    },
    "case_resolved": {
        "en": "Your case {number} has been resolved ({code}).\n{summary}",
        "zh": "您的投诉 {number} 已处理完毕（{code}）。\n{summary}",
    },
}

NEW_COMPLAINT_WORDS = frozenset({"new", "/new", "new complaint", "新投诉", "新的投诉"})


def say(key: str, lang: str, **values: object) -> str:
    language: Lang = "zh" if lang.startswith("zh") else "en"
    return _TEXTS[key][language].format(**values)


def status_label(status: str, lang: str) -> str:
    language: Lang = "zh" if lang == "zh" else "en"
    return STATUS_LABELS.get(status, {}).get(language, status)
