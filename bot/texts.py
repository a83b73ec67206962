"""The few customer-facing sentences the orchestrator itself says (the flow says everything else)."""

from __future__ import annotations

from typing import Literal

Lang = Literal["en", "zh"]

STATUS_LABELS: dict[str, dict[Lang, str]] = {
    "new": {"en": "received", "zh": "已受理"},
    "acknowledged": {"en": "acknowledged by our team", "zh": "客服已确认"},
    "in_progress": {"en": "being handled", "zh": "处理中"},
    "waiting_for_customer": {"en": "waiting for your reply", "zh": "等待你的回复"},
    "resolved": {"en": "resolved", "zh": "已解决"},
    "closed": {"en": "closed", "zh": "已关闭"},
}

# The customer is addressed as 你 everywhere in the chat, like the flow does.
_TEXTS: dict[str, dict[Lang, str]] = {
    "status_none": {
        "en": "You have no open cases.",
        "zh": "你目前没有处理中的投诉。",
    },
    "status_unknown_number": {
        "en": "I can't find a case {number} among yours. Check the number, or send \"status\" to see all of them.",
        "zh": "你的投诉中没有编号为 {number} 的记录。请核对编号，或发送“进度”查看全部投诉。",
    },
    "status_header": {"en": "Your cases:", "zh": "你的投诉："},
    "status_finished_header": {"en": "Recently resolved:", "zh": "最近已解决的投诉："},
    "status_only_finished": {
        "en": "You have no open cases. Recently resolved:",
        "zh": "你目前没有处理中的投诉。最近已解决的投诉：",
    },
    "status_case": {"en": "{number} — {status} (filed {filed})", "zh": "{number}：{status}（{filed} 提交）"},
    "status_about": {"en": "About: {about}", "zh": "内容：{about}"},
    "status_separator": {"en": ", ", "zh": "，"},
    "status_team": {"en": "Team: {team}", "zh": "负责团队：{team}"},
    "status_next": {"en": "Next: {next}", "zh": "下一步：{next}"},
    "next_new": {
        "en": "our team will look at it soon and write to you here.",
        "zh": "我们的团队会尽快查看，并在这里回复你。",
    },
    "next_acknowledged": {
        "en": "an agent has taken it and will write to you here.",
        "zh": "客服已接手，会在这里回复你。",
    },
    "next_in_progress": {
        "en": "we are working on it; you will hear from us here.",
        "zh": "我们正在处理，有进展会在这里通知你。",
    },
    "next_waiting_for_customer": {
        "en": "we need your answer: just reply here.",
        "zh": "我们需要你的答复，直接在这里回复即可。",
    },
    "next_resolved": {
        "en": "nothing more to do. If the problem comes back, file a new complaint.",
        "zh": "无需其他操作。如果问题再次出现，可以提交新的投诉。",
    },
    "next_closed": {
        "en": "nothing; this case is closed. File a new complaint if you need us again.",
        "zh": "无；该投诉已关闭。如仍需帮助，请提交新的投诉。",
    },
    "follow_up_added": {
        "en": "Added to your case {number}. For a different problem, choose \"New complaint\".",
        "zh": "已补充到你的投诉 {number}。如果是另一个问题，请选择“新投诉”。",
    },
    # Relayed from the agent desk.
    "agent_reply": {
        "en": "Message from our support team about case {number}:\n{text}",
        "zh": "关于投诉 {number}，客服回复：\n{text}",
    },
    "case_resolved": {
        "en": "Your case {number} has been resolved ({code}).\n{summary}",
        "zh": "你的投诉 {number} 已处理完毕（{code}）。\n{summary}",
    },
}

NEW_COMPLAINT_WORDS = frozenset({"new", "/new", "new complaint", "新投诉", "新的投诉"})


def say(key: str, lang: str, **values: object) -> str:
    language: Lang = "zh" if lang.startswith("zh") else "en"
    return _TEXTS[key][language].format(**values)


def status_label(status: str, lang: str) -> str:
    language: Lang = "zh" if lang == "zh" else "en"
    return STATUS_LABELS.get(status, {}).get(language, status)
