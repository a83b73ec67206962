"""Words instead of codes, in English and Chinese: labels for products and categories (from the catalog and the
taxonomy), statuses, channels and resolution codes, and the desk's own sentences. Agents read them in their
team's language (`language` in the routing file); customers read labels in theirs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from bot.analysis import import_nlp

if TYPE_CHECKING:
    # Importing nlp imports spaCy and jieba (seconds): the process starts without them (bot/analysis.py).
    from nlp import ProductChoice
    from nlp.taxonomy import Taxonomy

DeskLang = Literal["en", "zh"]


def desk_lang(value: str | None) -> DeskLang:
    return "zh" if (value or "").lower().startswith("zh") else "en"


@dataclass(frozen=True)
class Label:
    en: str
    zh: str

    def __call__(self, lang: str) -> str:
        return self.zh if desk_lang(lang) == "zh" else self.en


STATUSES: Mapping[str, Label] = MappingProxyType({
    "new": Label(":new: New", ":new: 新建"),
    "acknowledged": Label(":eyes: Acknowledged", ":eyes: 已确认"),
    "in_progress": Label(":hammer_and_wrench: In progress", ":hammer_and_wrench: 处理中"),
    "waiting_for_customer": Label(":hourglass: Waiting for customer", ":hourglass: 等待客户回复"),
    "resolved": Label(":white_check_mark: Resolved", ":white_check_mark: 已解决"),
    "closed": Label(":lock: Closed", ":lock: 已关闭"),
})

PRIORITIES: Mapping[str, Label] = MappingProxyType({
    "urgent": Label(":red_circle: Urgent", ":red_circle: 紧急"),
    "high": Label(":large_orange_circle: High", ":large_orange_circle: 高"),
    "normal": Label("Normal", "普通"),
    "low": Label("Low", "低"),
})

CHANNELS: Mapping[str, Label] = MappingProxyType({
    "web": Label("Web chat", "网页聊天"),
    "telegram": Label("Telegram", "Telegram"),
    "slack": Label("Slack", "Slack"),
    "wechat": Label("WeChat", "微信"),
    "console": Label("Console", "控制台"),
})

LANGUAGES: Mapping[str, Label] = MappingProxyType({"en": Label("English", "英文"), "zh": Label("Chinese", "中文")})

# The codes an agent picks when resolving; the customer reads the label in their own language.
RESOLUTION_CODES: Mapping[str, Label] = MappingProxyType({
    "refunded": Label("Refunded", "已退款"),
    "replaced": Label("Replaced", "已换货"),
    "repaired": Label("Repaired", "已维修"),
    "explained": Label("Explained / no fault found", "已说明 / 未发现故障"),
    "compensated": Label("Compensated", "已补偿"),
    "rejected": Label("Rejected", "未予支持"),
    "other": Label("Other", "其他"),
})


def _humanised(code: str) -> str:
    # An id no table knows (a custom model's category): readable words rather than snake_case.
    return code.replace("_", " ").strip().capitalize() or code


def label_of(table: Mapping[str, Label], code: str | None, lang: str) -> str | None:
    if not code:
        return None
    known = table.get(code)
    return known(lang) if known is not None else _humanised(code)


@dataclass(frozen=True)
class DeskVocabulary:
    """Product and category ids with their labels, in the catalog's and the taxonomy's order."""

    products: Mapping[str, Label] = field(default_factory=dict)
    categories: Mapping[str, Label] = field(default_factory=dict)

    @classmethod
    def of(cls, products: Iterable[tuple[str, str, str]], categories: Iterable[tuple[str, str, str]]) -> DeskVocabulary:
        """From (id, English label, Chinese label) triples."""
        return cls(
            MappingProxyType({code: Label(en, zh) for code, en, zh in products}),
            MappingProxyType({code: Label(en, zh) for code, en, zh in categories}),
        )

    def product(self, code: str | None, lang: str) -> str | None:
        return label_of(self.products, code, lang)

    def category(self, code: str | None, lang: str) -> str | None:
        return label_of(self.categories, code, lang)


@runtime_checkable
class ProductLister(Protocol):
    """What the NLP analyzer offers about its catalog (bot.analysis.ThreadedAnalyzer)."""

    def top_products(self, n: int, lang: str | None) -> tuple[ProductChoice, ...]: ...


# Every product, however large the catalog.
_ALL = 1_000_000


def load_vocabulary(source: object, taxonomy: Taxonomy | None = None) -> DeskVocabulary:
    """The catalog the analyzer uses (when it lists one) and the taxonomy its category models predict."""
    products: list[tuple[str, str, str]] = []
    if isinstance(source, ProductLister):
        chinese = {choice.id: choice.label for choice in source.top_products(_ALL, "zh")}
        products = [(choice.id, choice.label, chinese.get(choice.id, choice.label))
                    for choice in source.top_products(_ALL, "en")]
    if taxonomy is None:
        import_nlp()
        from nlp.taxonomy import Taxonomy

        taxonomy = Taxonomy.load()
    categories = taxonomy
    return DeskVocabulary.of(products, ((c.id, c.label_en, c.label_zh) for c in categories.categories))


def status_label(status: str, lang: str) -> str:
    return label_of(STATUSES, status, lang) or status


def priority_label(priority: str, lang: str) -> str:
    return label_of(PRIORITIES, priority, lang) or priority


def channel_label(channel: str, lang: str) -> str:
    return label_of(CHANNELS, channel, lang) or channel


def resolution_label(code: str | None, lang: str) -> str:
    return label_of(RESOLUTION_CODES, code, lang) or "-"


# The desk's own sentences. Slack mrkdwn; {placeholders} are filled by `desk_says`.
_DESK_TEXTS: Mapping[str, Label] = MappingProxyType({
    "case": Label("Case {number}", "投诉 {number}"),
    "status": Label("Status", "状态"),
    "assignee": Label("Assignee", "负责人"),
    "unassigned": Label("_unassigned_", "_未分配_"),
    "product": Label("Product", "产品"),
    "category": Label("Category", "类别"),
    "unknown": Label("_unknown_", "_未知_"),
    "channel_language": Label("Channel / language", "渠道 / 语言"),
    "contact": Label("Contact", "联系方式"),
    "none_given": Label("_none given_", "_未提供_"),
    "priority": Label("Priority", "优先级"),
    "linked_cases": Label("Linked cases", "关联投诉"),
    "file": Label("file {n}", "文件 {n}"),
    "what_happened": Label("What happened", "问题描述"),
    "when": Label("When", "时间"),
    "where": Label("Where", "地点"),
    "expected_resolution": Label("Expected resolution", "期望的解决方式"),
    "evidence": Label("Evidence", "证据"),
    "resolution": Label("Resolution", "处理结果"),
    "filed": Label(":clock3: Filed {date} · {age} ago", ":clock3: 提交于 {date} · {age}前"),
    "button_acknowledge": Label("Acknowledge", "确认"),
    "button_assign_to_me": Label("Assign to me", "分配给我"),
    "button_reclassify": Label("Reclassify", "重新分类"),
    "button_resolve": Label("Resolve", "解决"),
    "button_close": Label("Close", "关闭"),
    "button_reopen": Label("Reopen", "重新打开"),
    "assign_to": Label("Assign to…", "分配给…"),
    "assign_team": Label("Move to team…", "转给团队…"),
    "line_moved_out": Label(
        ":arrow_right: {actor} moved this case to team {team}; it goes on in that team's channel.{previous}",
        ":arrow_right: {actor} 已将此投诉转给 {team} 团队，后续在该团队频道处理。{previous}",
    ),
    "moved_previous": Label(" {previous}, it is no longer assigned to you.", " {previous}，此投诉已不再由您负责。"),
    "line_moved_in": Label(
        ":arrow_right: Moved here from team {team} by {actor}", ":arrow_right: {actor} 从 {team} 团队转来"
    ),
    "unknown_team": Label("There is no team {team}.", "没有名为 {team} 的团队。"),
    "not_a_member": Label(
        "{agent} is not an agent of team {team}: case {number} stays with {assignee}.",
        "{agent} 不是 {team} 团队的客服：投诉 {number} 仍由 {assignee} 负责。",
    ),
    "reclassify_title": Label("Reclassify {number}", "重新分类 {number}"),
    "resolve_title": Label("Resolve {number}", "解决 {number}"),
    "save": Label("Save", "保存"),
    "cancel": Label("Cancel", "取消"),
    "summary_label": Label("Resolution summary (sent to the customer)", "处理说明（将发送给客户）"),
    "code_label": Label("Resolution code", "处理结果类型"),
    "summary_needed": Label("The customer needs a summary.", "请填写发给客户的处理说明。"),
    "product_or_category": Label("Pick a product or a category.", "请选择产品或类别。"),
    "unknown_choice": Label("Pick one of the listed values.", "请从列表中选择。"),
    # Refusals: what happened and what to do.
    "refused": Label(
        "Case {number} is {status}{by}: you cannot {action} it now.{hint}",
        "投诉 {number} 目前{status}{by}，现在不能{action}。{hint}",
    ),
    "refused_by": Label(" (by {actor}, {when})", "（{actor}，{when}）"),
    "hint_reopen": Label(" Press *Reopen* on the case message first.", "请先点击案件消息上的“重新打开”。"),
    "hint_closed": Label(" Closed cases can only be reopened.", "已关闭的投诉只能重新打开。"),
    "reply_refused": Label(
        ":warning: Your reply was *not* sent to the customer: case {number} is {status}{by}.{hint}",
        ":warning: 您的回复*未*发送给客户：投诉 {number} 目前{status}{by}。{hint}",
    ),
    "modal_failed": Label(
        ":warning: Slack did not open the form in time. Press the button again.",
        ":warning: Slack 未能及时打开表单，请再点一次按钮。",
    ),
    "customer_said": Label(":speech_balloon: *Customer:* {text}", ":speech_balloon: *客户：* {text}"),
    "not_found": Label("There is no case {number}.", "没有编号为 {number} 的投诉。"),
    "file_not_relayed": Label(
        ":warning: The file {name} was *not* sent to the customer: {reason}.",
        ":warning: 文件 {name} *未*发送给客户：{reason}。",
    ),
    "file_too_large": Label("it is larger than 25 MB; share a link instead", "文件超过 25 MB，请改为分享链接"),
    "file_unreadable": Label(
        "Plaint could not download it from Slack (the app needs the files:read scope)",
        "Plaint 无法从 Slack 下载该文件（应用需要 files:read 权限）",
    ),
    "file_too_many": Label("at most 10 files go with one message", "每条消息最多转发 10 个文件"),
    "delivery_failed": Label(
        ":warning: {actor} the customer did *not* receive your message ({reason}). Try again later or reach "
        "them another way.",
        ":warning: {actor} 客户*未*收到您的消息（{reason}）。请稍后再试或通过其他方式联系客户。",
    ),
    "reason_unreachable": Label("they blocked the bot or left the chat", "客户已屏蔽机器人或离开会话"),
    "reason_refused": Label("the platform refused it", "平台拒绝了该消息"),
    # One thread line per event.
    "line_acknowledge": Label(":eyes: Acknowledged by {actor}", ":eyes: {actor} 已确认"),
    "line_assign": Label(
        ":bust_in_silhouette: Assigned to {assignee} by {actor}", ":bust_in_silhouette: {actor} 分配给 {assignee}",
    ),
    "line_takeover": Label(
        ":bust_in_silhouette: {previous}, {actor} took over this case from you.",
        ":bust_in_silhouette: {previous}，{actor} 已接手此投诉。",
    ),
    "line_handoff": Label(
        ":bust_in_silhouette: {actor} handed this case to {assignee}.",
        ":bust_in_silhouette: {actor} 已将此投诉转交给 {assignee}。",
    ),
    "line_reassign": Label(
        ":bust_in_silhouette: {previous}, {actor} reassigned this case from you to {assignee}.",
        ":bust_in_silhouette: {previous}，{actor} 已将此投诉从您转给 {assignee}。",
    ),
    "line_round_robin": Label(
        ":bust_in_silhouette: Assigned to {assignee} (round-robin)", ":bust_in_silhouette: 已轮流分配给 {assignee}",
    ),
    "line_reclassify": Label(":label: Reclassified by {actor}: {what}", ":label: {actor} 重新分类：{what}"),
    "line_resolve": Label(
        ":white_check_mark: Resolved by {actor}: {code}", ":white_check_mark: {actor} 已解决：{code}"
    ),
    "line_close": Label(":lock: Closed by {actor}", ":lock: {actor} 已关闭"),
    "line_reopen": Label(":arrows_counterclockwise: Reopened by {actor}", ":arrows_counterclockwise: {actor} 重新打开"),
    "line_reopen_on_reply": Label(
        ":arrows_counterclockwise: Reopened by {actor}'s reply",
        ":arrows_counterclockwise: {actor} 的回复重新打开了此投诉",
    ),
    # /plaint reveal: the contact, shown once to an agent of the owning team and written to the audit log.
    "reveal_shown": Label(
        ":unlock: Contact for case {number} (shown only to you; this reveal is in the audit log):",
        ":unlock: 投诉 {number} 的联系方式（仅您可见；本次查看已记入审计日志）：",
    ),
    "reveal_not_found": Label("There is no case {number}.", "没有编号为 {number} 的投诉。"),
    "reveal_not_team": Label(
        "Only agents of team {team} may reveal the contact of case {number}.",
        "只有 {team} 团队的客服可以查看投诉 {number} 的联系方式。",
    ),
    # Least privilege: /plaint answers members of the desk's teams (and the routing's admins); a case's details
    # only the team that owns it.
    "not_desk_member": Label(
        ":no_entry: `/plaint` answers agents of the desk's teams only. Ask an admin to add you to a team.",
        ":no_entry: `/plaint` 仅供客服团队成员使用。请联系管理员将您加入团队。",
    ),
    "not_case_team": Label(
        ":no_entry: Case {number} belongs to team {team}: only its agents may see or work it.",
        ":no_entry: 投诉 {number} 属于 {team} 团队：只有该团队的客服可以查看或处理。",
    ),
    "not_your_team": Label(
        ":no_entry: You are not an agent of team {team}: its queue is not shown to you.",
        ":no_entry: 您不是 {team} 团队的客服，无法查看其队列。",
    ),
    # SLA in the case message (the lifecycle's stored state).
    "sla": Label("SLA", "服务时限"),
    "sla_active": Label(
        ":hourglass_flowing_sand: on track · due {due}", ":hourglass_flowing_sand: 进行中 · 截止 {due}"
    ),
    "sla_active_no_due": Label(
        ":hourglass_flowing_sand: on track (clock paused)", ":hourglass_flowing_sand: 进行中（计时暂停）"
    ),
    "sla_hit": Label(":white_check_mark: met", ":white_check_mark: 已达成"),
    "sla_missed": Label(":rotating_light: *breached*: {metric}", ":rotating_light: *已超时*：{metric}"),
    "sla_metric_first_response": Label("first response", "首次响应"),
    "sla_metric_next_response": Label("next response", "后续响应"),
    "sla_metric_resolution": Label("resolution", "解决"),
    "name": Label("Name", "姓名"),
    "phone": Label("Phone", "电话"),
    "email": Label("E-mail", "邮箱"),
    # Actions, as the refusal names them.
    "action_acknowledge": Label("acknowledge", "确认"),
    "action_assign": Label("reassign", "分配"),
    "action_reclassify": Label("reclassify", "重新分类"),
    "action_resolve": Label("resolve", "解决"),
    "action_close": Label("close", "关闭"),
    "action_reopen": Label("reopen", "重新打开"),
    "action_agent_reply": Label("reply to the customer in", "回复"),
})


def desk_says(key: str, lang: str, **values: object) -> str:
    return _DESK_TEXTS[key](lang).format(**values)


def plural_age(seconds: float, lang: str) -> str:
    """A short age: 45 min, 3 h, 2 d (the case message is re-rendered on every change)."""
    minutes = max(0, int(seconds // 60))
    zh = desk_lang(lang) == "zh"
    if minutes < 60:
        return f"{minutes} 分钟" if zh else f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} 小时" if zh else f"{hours} h"
    return f"{hours // 24} 天" if zh else f"{hours // 24} d"
