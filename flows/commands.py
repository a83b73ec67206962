"""The command vocabulary: words and buttons that mean the same thing at every step, in both languages.

Commands (cancel, back, status ...) act on the conversation; intents (skip, done, yes ...) answer a step
without naming a value. Button values of the engine's own buttons start with "_" so that no option value
(which may not start with "_") can be mistaken for one; each carries a ``ChoiceRole`` for the channels.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from flows.conversation import Choice, ChoiceRole, Turn
from flows.language import simplified

Command = Literal[
    "cancel", "restart", "back", "status", "help", "unknown", "lang_en", "lang_zh", "new_complaint", "erase_data"
]

# Text longer than this is never a command word; it is not even normalised to look for one.
_LONGEST_COMMAND = 64

COMMAND_WORDS: dict[str, Command] = {
    "cancel": "cancel",
    "取消": "cancel",
    "restart": "restart",
    "重新开始": "restart",
    "重来": "restart",
    "back": "back",
    "返回": "back",
    "上一步": "back",
    "status": "status",
    "进度": "status",
    "查询": "status",
    "help": "help",
    "帮助": "help",
    "english": "lang_en",
    "英文": "lang_en",
    "中文": "lang_zh",
    "chinese": "lang_zh",
    "简体中文": "lang_zh",
    # A data subject's request (GDPR art. 17, PIPL art. 47): it reaches the admins as a case.
    "delete my data": "erase_data",
    "delete my personal data": "erase_data",
    "erase my data": "erase_data",
    "forget me": "erase_data",
    "删除我的数据": "erase_data",
    "删除我的个人数据": "erase_data",
    "删除我的个人信息": "erase_data",
    "删除我的信息": "erase_data",
}
# Only as slash commands, since a bare word could be an answer.
SLASH_ONLY: dict[str, Command] = {"start": "restart", "en": "lang_en", "zh": "lang_zh", "new": "new_complaint"}
# Only once the conversation is over (in a conversation "new" might answer a question).
AFTER_END_WORDS: dict[str, Command] = {
    "new": "new_complaint",
    "new complaint": "new_complaint",
    "新投诉": "new_complaint",
    "新的投诉": "new_complaint",
}
# The status words may be followed by a case number: "status PL-7K2M9Q", "进度 PL-7K2M9Q".
STATUS_WORDS = ("status", "进度", "查询")

KEEP = "_keep"
SKIP = "_skip"
DONE = "_done"
YES = "_yes"
OTHER = "_other"
CONFIRM = "_confirm"
EDIT = "_edit:"
CANCEL = "_cancel"
NEW_COMPLAINT = "_new"
# Not a button: the words for "I have nothing to send" at the evidence question.
NOTHING_TO_SEND = "nothing_to_send"
# Not a button: a greeting ("hi", "你好", "在吗") is no answer to any question (it was stored as the name).
GREETING = "greeting"
# Not a button: "I don't know" skips an optional question (a required one reads it as any other answer).
DONT_KNOW = "dont_know"
# Picking one of two values that disagree ("which phone is right?"): PICK + "0" keeps, PICK + "1" takes.
PICK = "_pick:"

BUTTON_COMMANDS: dict[str, Command] = {
    CANCEL: "cancel",
    "_restart": "restart",
    "_back": "back",
    "_status": "status",
    "_help": "help",
    NEW_COMPLAINT: "new_complaint",
}

# The role of each engine button (option values are plain answers).
_ROLES: dict[str, ChoiceRole] = {
    KEEP: "keep",
    SKIP: "skip",
    DONE: "done",
    YES: "yes",
    OTHER: "no",
    CONFIRM: "confirm",
    CANCEL: "cancel",
    NEW_COMPLAINT: "new_complaint",
}

TYPED_INTENTS: dict[str, frozenset[str]] = {
    KEEP: frozenset({"keep", "keep it", "same", "保留", "不变", "不用改"}),
    SKIP: frozenset({"skip", "跳过", "略过"}),
    DONE: frozenset(
        {"done", "finished", "finish", "no more", "that's all", "thats all", "完成", "好了", "没有了", "就这些"}
    ),
    YES: frozenset(
        {
            "yes", "y", "yeah", "yep", "yup", "yea", "ya", "correct", "right", "ok", "okay", "sure", "exactly",
            "that's right", "thats right", "that's it", "thats it", "yes it is", "yes that's right", "absolutely",
            "是", "是的", "对", "对的", "没错", "正确", "好", "好的", "嗯", "嗯嗯", "对啊", "是啊", "确认", "可以",
            "没问题", "就是", "就是这个", "对，就是",
            # Cantonese (read through simplified characters: 係 -> 系)
            "系", "系呀", "系啊", "系喇", "啱", "啱呀", "啱啊", "冇错",
        }
    ),
    OTHER: frozenset(
        {"no", "n", "nope", "nah", "wrong", "other", "something else", "not really", "not quite", "no it's not",
         "no its not", "no it isn't", "that's wrong", "thats wrong", "不是", "不是的", "不对", "不对的", "错",
         "错了", "否", "不", "其他", "其它", "别的", "唔系", "唔系呀", "唔啱", "唔系啱"}
    ),
    CONFIRM: frozenset(
        {"confirm", "submit", "yes", "ok", "okay", "确认", "提交", "确认提交", "是", "是的", "好", "好的",
         "yes please", "looks good", "all good", "correct", "that's right", "thats right", "all correct",
         "send", "send it", "submit it", "go ahead",
         "对", "对的", "没错", "没问题", "正确", "可以", "确认无误", "提交吧", "系", "啱", "冇问题", "冇错"}
    ),
    GREETING: frozenset(
        {"hi", "hello", "hey", "hiya", "hi there", "hello there", "hey there", "good morning", "good afternoon",
         "good evening", "hallo", "你好", "您好", "嗨", "哈喽", "哈啰", "在吗", "在不在", "有人吗",
         "你好在吗", "您好在吗", "早上好", "上午好", "下午好", "晚上好"}
    ),
    DONT_KNOW: frozenset(
        {"i don't know", "i dont know", "don't know", "dont know", "idk", "no idea", "not sure", "i'm not sure",
         "im not sure", "i can't remember", "i cant remember", "can't remember", "cant remember",
         "i don't remember", "i dont remember", "i forgot", "forgot",
         "不知道", "我不知道", "不清楚", "不太清楚", "不确定", "不记得", "不记得了", "记不清", "记不清了",
         "忘了", "忘记了", "唔知", "我唔知", "唔知道", "唔记得", "唔记得了", "唔清楚"}
    ),
    # At the evidence question with nothing (more) to send: the same as Skip (or Done once files came); at an
    # optional text question, nothing to say.
    NOTHING_TO_SEND: frozenset(
        {"no", "nope", "none", "nothing", "no thanks", "no photos", "no pictures", "no files", "no evidence",
         "i don't have any", "i dont have any", "i have none", "not really", "no i don't", "no i dont",
         "nah", "no thank you", "no i don't have any", "否", "不", "不了", "没有呢", "没有哦",
         "没有", "没", "无", "没有照片", "没有图片", "没有文件", "没有证据", "没了", "不用了", "不用"}
    ),
}


def role_of(value: str) -> ChoiceRole:
    if value.startswith(EDIT):
        return "edit"
    return _ROLES.get(value, "answer")


def button(value: str, label: str) -> Choice:
    """A choice with the role its value implies."""
    return Choice(value, label, role_of(value))


def normalize(text: str) -> str:
    """Case-, width- and punctuation-insensitive form for matching commands, labels and intents."""
    folded = simplified(unicodedata.normalize("NFKC", text).casefold().strip())
    return folded.strip(" \t\r\n.!?,;:。！？，；：~'\"“”‘’").strip()


def command_of(turn: Turn, *, ended: bool = False) -> Command | None:
    """The command a turn gives, if any; ``ended``: the conversation is over, so "new" starts one."""
    if turn.choice is not None:
        return BUTTON_COMMANDS.get(turn.choice)
    if turn.text is None or len(turn.text) > _LONGEST_COMMAND:
        return None
    word = normalize(turn.text)
    if word.startswith("/"):
        # "/cancel@PlaintBot" is how Telegram groups address a bot.
        name = word[1:].split("@", 1)[0].strip()
        if case_number_asked(turn) is not None:
            return "status"
        return COMMAND_WORDS.get(name) or SLASH_ONLY.get(name) or "unknown"
    if case_number_asked(turn) is not None:
        return "status"
    if ended and word in AFTER_END_WORDS:
        return AFTER_END_WORDS[word]
    return COMMAND_WORDS.get(word)


def case_number_asked(turn: Turn) -> str | None:
    """The case number in "status PL-7K2M9Q" / "进度 PL-7K2M9Q" / "/status PL-7K2M9Q"; None otherwise."""
    if turn.choice is not None or turn.text is None or len(turn.text) > _LONGEST_COMMAND:
        return None
    words = unicodedata.normalize("NFKC", turn.text).strip().lstrip("/").split()
    if len(words) == 1:
        for word in STATUS_WORDS:
            if words[0].casefold().startswith(word) and len(words[0]) > len(word):
                words = [word, words[0][len(word) :]]
                break
    if len(words) != 2 or words[0].casefold().split("@", 1)[0] not in STATUS_WORDS:
        return None
    number = words[1].strip(" :：#").upper()
    if not number or len(number) > 32 or not all(char.isascii() and (char.isalnum() or char == "-") for char in number):
        return None
    # Case numbers carry a digit or a hyphen ("PL-7K2M9Q"); "status quo" asks for no case.
    if not any(char.isdigit() or char == "-" for char in number):
        return None
    return number


def typed(turn: Turn, intent: str) -> bool:
    """The customer typed one of the words for an intent (e.g. "skip", "跳过")."""
    if turn.choice is not None or turn.text is None or len(turn.text) > _LONGEST_COMMAND:
        return False
    return normalize(turn.text) in TYPED_INTENTS[intent]


# "why do you need my name?", "what's that for", 为什么要我的电话, 一定要填吗: the customer asks why, answering nothing.
_WHY_EN = re.compile(r"^(?:(?:but|and|ok|okay|so|sorry|um|erm|hmm)[\s,]+)?"
                     r"(?:why|what\s+for|what'?s\s+(?:that|this|it)\s+for"
                     r"|how\s+come|what\s+do\s+you\s+need|do\s+(?:i|you)\s+(?:have\s+to|need|really)"
                     r"|is\s+(?:that|this|it)\s+(?:necessary|needed|required|mandatory))\b")
_WHY_ZH = re.compile(r"为什么|为啥|干嘛|干什么|凭什么|有什么用|做什么用|一定要|必须要?(?:填|写|给|提供|说)|非要")
_WHY_MAX_CHARS = 60


def asks_why(turn: Turn) -> bool:
    """The customer asks why a question is asked (or whether they must answer it) instead of answering."""
    if turn.choice is not None or turn.text is None or len(turn.text) > _WHY_MAX_CHARS:
        return False
    text = normalize(turn.text)
    return bool(_WHY_EN.match(text) or _WHY_ZH.search(text))


def bare_number(text: str) -> bool:
    """A message that is only a number ("2", "１２", "7 "): never a date, a place or a name."""
    if len(text) > _LONGEST_COMMAND:
        return text.strip().isdigit()
    typed = normalize(text).replace(" ", "")
    return bool(typed) and typed.isdigit()
