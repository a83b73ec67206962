"""What the duplicate check says to customers and to the team, in English and Chinese."""

from __future__ import annotations

from bot.lifecycle.csat_texts import Lang, language

YES_WORDS = frozenset({"yes", "y", "yes, same problem", "same", "是", "是的", "对", "对的", "是同一个问题"})
NO_WORDS = frozenset({"no", "n", "no, a new problem", "new", "不是", "不", "新问题", "不是，新问题"})

BUTTON_LABELS: dict[Lang, tuple[str, str]] = {
    "en": ("Yes, same problem", "No, a new problem"),
    "zh": ("是，同一个问题", "不是，新问题"),
}

_TEXTS: dict[str, dict[Lang, str]] = {
    "question": {
        "en": "Is this about case {earlier} ({what}, filed {date})? If it is, we add what you just told us to "
              "that case instead of opening a second one.",
        "zh": "这是关于投诉 {earlier}（{what}，{date} 提交）的吗？如果是，我们会把你刚才提供的信息补充到该投诉中，"
              "而不是新建一个。",
    },
    "linked": {
        "en": "Thank you. We added this to case {earlier}; the team handling it has your new information.",
        "zh": "谢谢。我们已把这些信息补充到投诉 {earlier}，负责的团队会看到。",
    },
    "kept_apart": {
        "en": "Understood: {number} stays a separate case.",
        "zh": "明白了：{number} 将作为单独的投诉处理。",
    },
    "already_decided": {
        "en": "Case {number} is already {decision}.",
        "zh": "投诉 {number} 已经{decision}。",
    },
    "decision_linked": {"en": "linked to {earlier}", "zh": "并入 {earlier}"},
    "decision_apart": {"en": "kept as a separate case", "zh": "作为单独投诉处理"},
    "resolution": {
        "en": "Same complaint as {earlier}: the information was added there.",
        "zh": "与 {earlier} 为同一投诉，信息已补充到该投诉。",
    },
    # For the team, in the case threads.
    "team_possible": {
        "en": ":mag: Possible duplicate of {earlier} ({reasons}). The customer was asked; you can decide too.",
        "zh": ":mag: 可能与 {earlier} 重复（{reasons}）。已询问客户；您也可以直接决定。",
    },
    "team_linked_here": {
        "en": ":link: {number} from the same customer ({channel}) is the same complaint, linked here by {actor}. "
              "What they added: {description}",
        "zh": ":link: 同一客户（{channel}）的 {number} 是同一投诉，已由 {actor} 并入此处。补充内容：{description}",
    },
    "team_linked_there": {
        "en": ":link: Linked to {earlier} by {actor}; this case is resolved as a duplicate.",
        "zh": ":link: 已由 {actor} 并入 {earlier}；此投诉作为重复投诉结案。",
    },
    "team_not_duplicate": {
        "en": ":heavy_minus_sign: Not a duplicate of {earlier} ({actor}).",
        "zh": ":heavy_minus_sign: 与 {earlier} 不是重复投诉（{actor}）。",
    },
}

REASON_LABELS: dict[Lang, dict[str, str]] = {
    "en": {"same_order": "same order number", "same_product": "same product", "same_category": "same category",
           "similar_text": "similar description"},
    "zh": {"same_order": "订单号相同", "same_product": "产品相同", "same_category": "类别相同",
           "similar_text": "描述相似"},
}

ACTOR_CUSTOMER: dict[Lang, str] = {"en": "the customer", "zh": "客户"}


def duplicate_text(key: str, lang: str, **values: object) -> str:
    return _TEXTS[key][language(lang)].format(**values)


def reasons_text(reasons: tuple[str, ...], lang: str) -> str:
    labels = REASON_LABELS[language(lang)]
    return ", ".join(labels.get(reason, reason) for reason in reasons)
