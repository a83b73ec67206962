"""The NLP page of the console: the last `plaint nlp retrain` report per language (both models' scores on the
same held-out slice, the counts, the decision). Needs `settings:read`; read-only (retraining is a command an
operator runs, see docs/nlp-model-card.md)."""

from __future__ import annotations

from aiohttp import web

from bot.admin.console import Page, page
from bot.admin.console_texts import ConsoleLang
from bot.admin.roles import Permission
from bot.config import Settings
from storage.corrections import last_retrains

TEXTS: dict[str, tuple[str, str]] = {
    "nlp": ("NLP models", "NLP 模型"),
    "last_retrain": ("Last retrain", "最近一次重新训练"),
    "no_retrain": ("No retrain yet. Run `plaint nlp retrain --lang en` (or zh): it learns from agents' corrections "
                   "and handled cases and installs the new model only when it is not worse.",
                   "尚未重新训练。运行 `plaint nlp retrain --lang en`（或 zh）：它从客服的更正和已处理的案件中学习，"
                   "只有新模型不比当前模型差时才会安装。"),
    "language": ("Language", "语言"),
    "when": ("When", "时间"),
    "who": ("Run by", "执行者"),
    "decision": ("Decision", "决定"),
    "installed": ("Installed: the new model is used from the server's next start.",
                  "已安装：服务器下次启动时使用新模型。"),
    "worse": ("Not installed: the candidate scored lower than the current model.",
              "未安装：候选模型得分低于当前模型。"),
    "missing_categories": ("Not installed: the candidate does not know these categories: {names}. Retrain with "
                           "--data (the rows the current model learned from).",
                           "未安装：候选模型不认识这些类别：{names}。请加上 --data（当前模型的训练数据）重新训练。"),
    "score": ("Macro-F1 on the held-out slice (accuracy)", "留出集上的宏平均 F1（准确率）"),
    "current": ("Current model", "当前模型"),
    "candidate": ("Candidate", "候选模型"),
    "rows": ("Labelled rows", "标注数据"),
    "rows_detail": ("{corrections} corrections, {cases} handled cases, {base} base rows; trained on {train}, "
                    "held out {heldout}", "{corrections} 条更正，{cases} 个已处理案件，{base} 条基础数据；"
                    "训练 {train} 条，留出 {heldout} 条"),
    "changed": ("Changed predictions on the slice", "留出集上改变的预测"),
    "changed_detail": ("{changed} changed: {fixed} now right, {broken} now wrong",
                       "{changed} 条改变：{fixed} 条改对，{broken} 条改错"),
    "en": ("English", "英文"),
    "zh": ("Chinese", "中文"),
}


def nlp_text(key: str, lang: ConsoleLang, **values: object) -> str:
    en, zh = TEXTS[key]
    chosen = zh if lang == "zh" else en
    return chosen.format(**values) if values else chosen


def nlp_console_routes(settings: Settings) -> list[web.RouteDef]:
    del settings  # the reports are in the database

    @page(Permission.SETTINGS_READ)
    async def nlp_page(current: Page) -> web.Response:
        def n(key: str, **more: object) -> str:
            return nlp_text(key, current.lang, **more)

        reports = [(when, who, report) for when, who, report in await last_retrains() if isinstance(report, dict)]
        return current.render("nlp.html", n=n, reports=reports)

    return [web.get("/admin/nlp", nlp_page)]
