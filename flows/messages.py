"""The engine's built-in texts in both languages; a flow may override any of them by key.

Placeholders are ``str.format`` names filled by the engine ({limit}, {label}, ...); flow authors overriding
a message must keep the same placeholders (checked when the flow loads).
"""

from __future__ import annotations

import string

from flows.language import Lang

BUILTIN_MESSAGES: dict[str, tuple[str, str]] = {
    "help": (
        "You can type these at any time:\n"
        "• back – go back and change your previous answer\n"
        "• restart – start again from the beginning\n"
        "• cancel – stop without filing anything\n"
        "• status – see your open cases (\"status\" and a case number for one case)\n"
        "• help – show this message\n"
        "• 中文 – 切换到中文",
        "你随时可以发送以下指令：\n"
        "• 返回 – 回到上一步修改答案\n"
        "• 重新开始 – 从头再来\n"
        "• 取消 – 结束，不提交任何内容\n"
        "• 进度 – 查看你的投诉处理进度（“进度”加编号可查询某一件）\n"
        "• 帮助 – 显示本说明\n"
        "• English – switch to English",
    ),
    "unknown_command": ("Sorry, I don't know that command.", "抱歉，我不认识这个指令。"),
    "cancelled": (
        "Okay, I've cancelled this complaint and nothing was filed. Send me a message any time to start a new one.",
        "好的，本次投诉已取消，没有提交任何内容。随时给我发消息即可重新开始。",
    ),
    "restarted": ("No problem, let's start again from the top.", "没问题，我们从头开始。"),
    "back_at_first": ("This is already the first question.", "这已经是第一个问题了。"),
    "current_answer": ("Your current answer: {value}", "你目前的回答：{value}"),
    "finished_help": (
        "This complaint is already closed. Send me a message any time to start a new one.",
        "这次对话已经结束。随时给我发消息即可开始新的投诉。",
    ),
    "language_switched": ("Sure, let's continue in English.", "好的，我们用中文继续。"),
    "flow_updated": (
        "Our form changed since we last spoke, so I may ask one or two things again.",
        "我们的表单刚刚更新过，可能需要你补充一两个问题。",
    ),
    "button_keep": ("Keep", "保留"),
    "button_skip": ("Skip", "跳过"),
    "button_done": ("Done", "完成"),
    "button_yes": ("Yes", "是的"),
    "button_other": ("Something else", "其他"),
    "button_confirm": ("Confirm and submit", "确认提交"),
    "button_cancel": ("Cancel", "取消"),
    "button_edit": ("Edit {label}", "修改{label}"),
    "need_answer": ("I didn't catch an answer there.", "我没有收到你的回答。"),
    "not_optional": ("This one can't be skipped, sorry.", "抱歉，这一项不能跳过。"),
    "dont_know_in_words": (
        "No problem: a few words about it are enough (\"the blue one I bought in May\"), or pick one below.",
        "没关系：简单说几个字就可以（比如“五月买的那个蓝色的”），或从下面选择一项。",
    ),
    "too_short": (
        "That's a bit short: please write at least {min} characters.",
        "内容有点短，请至少写 {min} 个字。",
    ),
    "message_too_long": (
        "That message is too long for me to read: please keep it under {max} characters (yours has {length}).",
        "这条消息太长了，我无法读取：请控制在 {max} 个字以内（目前 {length} 个字）。",
    ),
    "number_not_an_option": (
        "There's no option {number} here: send a number from 1 to {count}, or answer in words.",
        "没有第 {number} 项：请发送 1 到 {count} 之间的数字，或直接用文字回答。",
    ),
    "number_not_an_answer": (
        "A number on its own doesn't answer this question: please answer in words.",
        "只有一个数字无法回答这个问题，请用文字说明。",
    ),
    "noted": (
        "I noted {values} — right? If anything is wrong, just send me the right one.",
        "我记下了{values}，对吗？如有不对，直接发给我正确的即可。",
    ),
    "yes_no_not_an_answer": ("Please tell me in a few words.", "请用几个字告诉我。"),
    "dont_know_story": (
        "No problem: just say what went wrong in your own words, for example \"the kettle leaks from the bottom\" "
        "or \"my parcel never arrived\".",
        "没关系，用你自己的话说说出了什么问题就行，比如“水壶底部漏水”或“包裹一直没收到”。",
    ),
    "taken_as": ('Thanks, I have that for "{label}".', "好的，已记为“{label}”。"),
    "greeting_back": ("Hello!", "你好！"),
    "why_asked": (
        "It helps the team that handles your complaint look into it and get back to you.",
        "这能帮助处理投诉的同事核实情况并回复你。",
    ),
    "why_optional": ("If you'd rather not say, tap Skip.", "如果不方便提供，可以点“跳过”。"),
    "story_taken": ("Thanks, I've taken that down as what happened.", "谢谢，我已把这些记为事情经过。"),
    "story_added": ("Thanks, I've added that to what happened.", "谢谢，我已把这些补充到事情经过里。"),
    "noted_item": ("{label}: {value}", "{label}：{value}"),
    "noted_separator": ("; ", "；"),
    "conflict": (
        "You've given me two different answers for {label}. Which one is right?",
        "你给了两个不同的{label}，哪个是对的？",
    ),
    "conflict_hint": (
        "Please tap the right one (or send its number), or type it again.",
        "请点击正确的一项（或发送序号），也可以重新输入。",
    ),
    "status_offer": (
        "Anything else? To file a new complaint, tap the button below.",
        "还有其他需要吗？如需提交新的投诉，请点击下方按钮。",
    ),
    "button_new_complaint": ("New complaint", "新投诉"),
    "data_request_filed": (
        "We have received your request to delete your personal data (reference {case_number}). Our data "
        "protection officer will handle it and tell you here when it is done.",
        "我们已收到你删除个人数据的请求（编号 {case_number}）。我们的数据保护负责人会处理，完成后会在这里通知你。",
    ),
    "too_long": (
        "That's too long: please keep it under {max} characters (yours has {length}).",
        "内容太长了，请控制在 {max} 个字以内（目前 {length} 个字）。",
    ),
    "invalid_email": (
        "That doesn't look like a valid email address ({detail}). Please check it and try again.",
        "这个邮箱地址好像不正确，请检查后重新输入（例如 name@example.com）。",
    ),
    "invalid_phone": (
        "I couldn't recognise that phone number. Please include the country code, e.g. +44 20 7946 0958, "
        "or send an 11-digit Chinese mobile number such as 13812345678.",
        "无法识别这个电话号码。请输入11位手机号（如 13812345678），或带国家区号的号码（如 +44 20 7946 0958）。",
    ),
    "invalid_date": (
        'Sorry, I couldn\'t work out that date. Try something like "yesterday 3pm", "2 days ago" '
        'or "2026-11-03 14:00".',
        "抱歉，我没看懂这个时间。可以这样写：“昨天下午三点”、“两天前”或“2026-11-03 14:00”。",
    ),
    "future_date": (
        "That time is in the future. When did it happen?",
        "这个时间还没到哦。请告诉我事情是什么时候发生的？",
    ),
    "invalid_choice": (
        "Please pick one of the options (tap a button or send its number).",
        "请从选项中选择一个（点击按钮或发送序号）。",
    ),
    "location_not_expected": (
        "Thanks, but I don't need a location for this question.",
        "谢谢，不过这个问题不需要位置信息。",
    ),
    "file_kept": (
        "I'll keep {name} for the evidence question.",
        "{name} 已保存，稍后提交证据时会一并附上。",
    ),
    "file_not_expected": (
        "I'm not collecting files right now, so I couldn't keep {name}. You can send evidence a little later.",
        "现在还不需要上传文件，所以 {name} 没有保存。稍后会请你上传证据。",
    ),
    "file_too_large": (
        "{name} is too large (limit {limit} per file).",
        "{name} 太大了（每个文件不能超过 {limit}）。",
    ),
    "file_type": (
        "I can't accept {name}: allowed are {kinds}.",
        "无法接收 {name}：只接受{kinds}。",
    ),
    "file_unavailable": (
        "I couldn't fetch {name} from the chat app. Please send it again.",
        "没能从聊天应用获取 {name}，请重新发送。",
    ),
    "file_too_many": (
        "I can take at most {max} files, so I couldn't keep {name}.",
        "最多只能上传 {max} 个文件，所以 {name} 没有保存。",
    ),
    "files_received": (
        "Got it: {count} of at most {max} file(s) so far. Send more, or tap Done.",
        "收到，目前共 {count} 个文件（最多 {max} 个）。可以继续发送，或点击“完成”。",
    ),
    "files_need_more": (
        "Please send at least {min} file(s) before finishing.",
        "请至少上传 {min} 个文件后再完成。",
    ),
    "files_hint": (
        "Please send photos, videos or documents here, or tap Done when you're finished.",
        "请在这里发送照片、视频或文件，发完后点击“完成”。",
    ),
    "other_prompt": ("No problem, please type it in your own words.", "好的，请直接输入。"),
    "auto_accepted": (
        "I've noted {label}: {value}. You can change it before you submit.",
        "已为你记录{label}：{value}。提交前可以修改。",
    ),
    "edit_applied": ("Updated {label}: {value}.", "已更新{label}：{value}。"),
    "edit_rejected": ("I couldn't use your edited answer for {label}.", "修改后的{label}无法使用。"),
    "confirm_hint": (
        'Please tap "Confirm and submit", or choose what to change.',
        "请点击“确认提交”，或选择需要修改的内容。",
    ),
    "summary_line": ("{label}: {value}", "{label}：{value}"),
    "summary_skipped": ("(skipped)", "（已跳过）"),
    "summary_no_files": ("none", "无"),
    "summary_files": ("{count} file(s): {names}", "{count} 个文件：{names}"),
    "kind_photo": ("photos", "照片"),
    "kind_video": ("videos", "视频"),
    "kind_document": ("documents", "文档"),
    "kind_audio": ("audio", "音频"),
    "kinds_separator": (", ", "、"),
}


def placeholders(template: str) -> frozenset[str]:
    """The ``str.format`` field names a template uses."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def builtin_message(key: str, lang: Lang) -> str:
    en, zh = BUILTIN_MESSAGES[key]
    return zh if lang == "zh" else en
