"""The privacy pages of the console: retention (the policy, what would go now, the last run, run it now), data
quality (the last `plaint data check` report, run it now), data subjects' requests (the requests customers made
in the chat, export or erase a person) and the audited unmasking of a case's contact details.

Every page needs `privacy:manage` (admins) except unmasking, which needs `contacts:read`; every form carries the
session's CSRF token; every action is in the audit log."""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from bot.admin.audit import audit_unmasked
from bot.admin.cases import CaseNotFoundError, case_out
from bot.admin.console import Page, page, see_other
from bot.admin.console_texts import ConsoleLang, text
from bot.admin.roles import Permission
from bot.config import Settings
from bot.privacy.retention import RetentionPolicyError, RetentionService, outcome_document
from flows.engine import DATA_ERASURE_CATEGORY
from storage.audit import TortoiseAuditLog
from storage.data_quality import check_data, last_check, record_check
from storage.database import supports_row_locks
from storage.evidence import LocalEvidenceStore
from storage.privacy import (
    SubjectNotFound,
    data_requests,
    erase_subject,
    export_subject,
    find_subject,
    record_event,
    subject_query,
)
from storage.retention import last_run
from storage.timers import TortoiseTimerStore

TEXTS: dict[str, tuple[str, str]] = {
    "privacy": ("Privacy", "隐私"),
    "retention": ("Retention", "数据保留"),
    "no_policy": ("No retention policy: nothing is removed but sent and given-up outbox messages after 30 days. "
                  "Set PLAINT_RETENTION_FILE to a policy YAML.",
                  "没有数据保留策略：除 30 天前已发送或已放弃的待发消息外，不会删除任何数据。"
                  "请将 PLAINT_RETENTION_FILE 设为策略 YAML 文件。"),
    "policy_source": ("Policy from", "策略来源"),
    "edit_policy": ("Edit the policy (YAML)", "编辑策略（YAML）"),
    "policy_help": ("One line per data class: evidence, transcripts, closed_cases, audit_log, e.g. "
                    "closed_cases: {after_days: 730, action: anonymise}. A class left out is kept for ever.",
                    "每个数据类别一行：evidence、transcripts、closed_cases、audit_log，例如 "
                    "closed_cases: {after_days: 730, action: anonymise}。未列出的类别永久保留。"),
    "save_policy": ("Save the policy", "保存策略"),
    "policy_saved": ("Policy saved.", "策略已保存。"),
    "data_class": ("Data class", "数据类别"),
    "kept_for": ("Kept for", "保留期限"),
    "days": ("{days} days", "{days} 天"),
    "forever": ("for ever", "永久"),
    "action": ("Then", "之后"),
    "due_now": ("Due now (dry run)", "现在到期（预演）"),
    "rows": ("{rows} rows", "{rows} 行"),
    "examples": ("e.g.", "例如"),
    "last_run": ("Last run: {when} by {actor}", "上次执行：{when}，执行者 {actor}"),
    "never_run": ("Retention has not removed anything yet.", "数据保留尚未删除任何数据。"),
    "run_retention": ("Apply retention now", "立即执行数据保留"),
    "retention_done": ("Retention applied: {rows} rows.", "已执行数据保留：{rows} 行。"),
    "data_quality": ("Data quality", "数据质量"),
    "no_check": ("No data check yet.", "尚未进行数据检查。"),
    "last_check": ("Last check: {when}, {cases} cases", "上次检查：{when}，{cases} 个案件"),
    "run_check": ("Check the data now", "立即检查数据"),
    "check_done": ("Data checked.", "数据检查完成。"),
    "requests": ("Data subject requests", "数据主体请求"),
    "chat_requests": ("Requests made in the chat", "在聊天中提出的请求"),
    "no_requests": ("No requests.", "没有请求。"),
    "subject": ("Whose data", "谁的数据"),
    "by_customer": ("Channel address (CHANNEL:ID)", "渠道地址（渠道:ID）"),
    "by_phone": ("Phone number", "电话号码"),
    "by_email": ("Email address", "电子邮箱"),
    "export": ("Export (ZIP)", "导出（ZIP）"),
    "erase": ("Erase", "删除"),
    "hard": ("Delete the cases too (the statistics change)", "同时删除案件（统计数字会改变）"),
    "confirm_erase": ("I confirm: erase this person's data", "我确认：删除此人的数据"),
    "erase_done": ("Erased: {anonymised} cases anonymised, {deleted} cases deleted, {messages} messages and "
                   "{files} files removed.", "已删除：{anonymised} 个案件已匿名化，{deleted} 个案件已删除，"
                   "{messages} 条消息和 {files} 个文件已移除。"),
    "confirm_needed": ("Tick the confirmation box to erase.", "请勾选确认框后再删除。"),
    "not_found_subject": ("No stored data for this person.", "没有此人的数据。"),
    "bad_subject": ("Give a channel address as CHANNEL:ID (for example telegram:12345), a phone number or an "
                    "email address.", "请填写渠道地址（格式 渠道:ID，例如 telegram:12345）、电话号码或电子邮箱。"),
    "contacts": ("Contact details of {number}", "{number} 的联系方式"),
    "show_contacts": ("Show contact details", "显示联系方式"),
    "unmask_note": ("Your viewing of these contact details and of the transcript below is recorded in the audit "
                    "log.", "你对以下联系方式和对话记录的查看已记入审计日志。"),
    "back": ("Back to the case", "返回案件"),
    "transcript": ("Transcript, unmasked", "对话记录（未遮盖）"),
    "no_transcript": ("No messages.", "没有消息。"),
    "name": ("Name", "姓名"),
    "phone": ("Phone", "电话"),
    "email": ("Email", "邮箱"),
    "address": ("Channel address", "渠道地址"),
    "number": ("Case", "案件"),
    "status": ("Status", "状态"),
    "channel": ("Channel", "渠道"),
    "when": ("When", "时间"),
}
_ACTIONS = {"delete": ("deleted", "删除"), "anonymise": ("anonymised", "匿名化")}
_CLASSES = {
    "evidence": ("Evidence files", "证据文件"),
    "transcripts": ("Transcripts", "聊天记录"),
    "closed_cases": ("Closed cases", "已关闭案件"),
    "audit_log": ("Audit log", "审计日志"),
    "settled_outbox": ("Sent and given-up outbox messages", "已发送或已放弃的待发消息"),
}


def privacy_text(key: str, lang: ConsoleLang, **values: object) -> str:
    en, zh = TEXTS.get(key) or _CLASSES.get(key) or _ACTIONS[key]
    chosen = zh if lang == "zh" else en
    # Only texts with placeholders are formatted (the policy help shows YAML braces).
    return chosen.format(**values) if values else chosen


def privacy_console_routes(settings: Settings) -> list[web.RouteDef]:
    """The privacy pages; `settings` says where the policy file and the evidence are."""
    evidence = LocalEvidenceStore(settings.evidence_dir)

    def retention() -> RetentionService:
        return RetentionService(policy_file=settings.retention_file, evidence=evidence, audit_log=TortoiseAuditLog(),
                                timers=TortoiseTimerStore(skip_locked=supports_row_locks(settings.effective_database_url)))

    def show(current: Page, template: str, status: int = 200, **values: Any) -> web.Response:
        def p(key: str, **more: object) -> str:
            return privacy_text(key, current.lang, **more)

        return current.render(template, status, p=p, **values)

    def done(location: str, notice: str) -> web.Response:
        return see_other(f"{location}?{urlencode({'notice': notice})}")

    async def _overview(current: Page, status: int = 200, draft: str | None = None,
                        draft_error: str | None = None) -> web.Response:
        service = retention()
        policy_error = None
        rules: list[tuple[str, int | None, str]] = []
        preview = None
        source, text_now = "none", ""
        try:
            source, text_now = await service.policy_text()
            policy = await service.policy()
            for name in ("evidence", "transcripts", "closed_cases", "audit_log"):
                rule = getattr(policy, name)
                rules.append((name, rule.after_days if rule else None, getattr(rule, "action", "delete")))
            if not policy.empty:
                preview = outcome_document(await service.preview())
        except RetentionPolicyError as error:
            policy_error = str(error)
        return show(
            current, "privacy.html", status, policy_source=source, policy_text=text_now if draft is None else draft,
            policy_error=policy_error, draft_error=draft_error, rules=rules, preview=preview,
            last_run=await last_run(), check=await last_check(), notice=current.request.query.get("notice"),
        )

    @page(Permission.PRIVACY_MANAGE)
    async def overview(current: Page) -> web.StreamResponse:
        return await _overview(current)

    @page(Permission.PRIVACY_MANAGE)
    async def save_policy(current: Page) -> web.StreamResponse:
        draft = (current.form.get("policy") or "").replace("\r\n", "\n")[:20_000]
        try:
            await retention().save_policy(draft, actor=current.principal.actor.name, via="console")
        except RetentionPolicyError as error:
            return await _overview(current, 422, draft=draft, draft_error=str(error))
        return done("/admin/privacy", privacy_text("policy_saved", current.lang))

    @page(Permission.PRIVACY_MANAGE)
    async def run_retention(current: Page) -> web.StreamResponse:
        try:
            outcome = await retention().apply(actor=current.principal.actor.name, via="console")
        except RetentionPolicyError as error:
            return current.render("message.html", 422, message=str(error))
        return done("/admin/privacy", privacy_text("retention_done", current.lang, rows=outcome.rows))

    @page(Permission.PRIVACY_MANAGE)
    async def run_check(current: Page) -> web.StreamResponse:
        await record_check(await check_data(), actor=current.principal.actor.name, via="console")
        return done("/admin/privacy", privacy_text("check_done", current.lang))

    @page(Permission.PRIVACY_MANAGE)
    async def requests_page(current: Page) -> web.StreamResponse:
        return show(current, "privacy_requests.html", requests=await data_requests(DATA_ERASURE_CATEGORY),
                    notice=current.request.query.get("notice"))

    def _query(current: Page) -> Any:
        kind = current.form.get("kind", "")
        value = (current.form.get("value") or "").strip()[:300] or None
        return subject_query(
            value if kind == "customer" else None, value if kind == "phone" else None,
            value if kind == "email" else None,
        )

    async def _refused(current: Page, message: str, status: int = 422) -> web.Response:
        return show(current, "privacy_requests.html", status, requests=await data_requests(DATA_ERASURE_CATEGORY),
                    notice=None, error=message)

    async def _subject(current: Page) -> tuple[Any, Any] | web.Response:
        """The form's person and what is stored of them, or the page saying why there is none."""
        try:
            query = _query(current)
            return query, await find_subject(query)
        except ValueError:
            return await _refused(current, privacy_text("bad_subject", current.lang))
        except SubjectNotFound:
            return await _refused(current, privacy_text("not_found_subject", current.lang), 404)

    @page(Permission.PRIVACY_MANAGE)
    async def export(current: Page) -> web.StreamResponse:
        found = await _subject(current)
        if isinstance(found, web.Response):
            return found
        query, subject = found
        # Written to a temporary file, then streamed: evidence files never sit whole in memory.
        with tempfile.TemporaryFile() as archive:
            counts = await export_subject(subject, archive, evidence)
            await record_event(subject, "personal_data_exported", current.principal.actor.name, counts)
            await current.deps.audit.record(current.principal.actor, "privacy.exported", "subject",
                                            query.describe(), None, counts)
            archive.seek(0)
            name = f"personal-data-{subject.case_numbers[0] if subject.case_numbers else 'export'}.zip"
            response = web.StreamResponse(headers={
                "Content-Type": "application/zip", "Cache-Control": "no-store",
                "Content-Disposition": f'attachment; filename="{name}"',
            })
            await response.prepare(current.request)
            while chunk := archive.read(64 * 1024):
                await response.write(chunk)
            await response.write_eof()
        return response

    @page(Permission.PRIVACY_MANAGE)
    async def erase(current: Page) -> web.StreamResponse:
        if current.form.get("confirm") != "yes":
            return await _refused(current, privacy_text("confirm_needed", current.lang))
        hard = current.form.get("hard") == "yes"
        found = await _subject(current)
        if isinstance(found, web.Response):
            return found
        query, subject = found
        report = await erase_subject(subject, evidence, actor=current.principal.actor.name, hard=hard)
        await current.deps.audit.record(
            current.principal.actor, "privacy.erased", "subject", query.describe(), None,
            {"cases_anonymised": report.cases_anonymised, "cases_deleted": report.cases_deleted,
             "messages_deleted": report.messages_deleted, "files_deleted": report.evidence_files_deleted},
        )
        return done("/admin/privacy/requests", privacy_text(
            "erase_done", current.lang, anonymised=report.cases_anonymised, deleted=report.cases_deleted,
            messages=report.messages_deleted, files=report.evidence_files_deleted,
        ))

    @page(Permission.CONTACTS_READ)
    async def unmask(current: Page) -> web.StreamResponse:
        number = current.request.match_info["number"]
        try:
            case = await case_out(current.deps, number, masked=False)
        except CaseNotFoundError:
            return current.render("message.html", 404, message=text("not_found", current.lang))
        # One entry for everything this page shows unmasked: the contact details and the transcript.
        await audit_unmasked(current.deps.audit, current.principal.actor, current.request, "case", case.number,
                             {"transcript": len(case.transcript)})
        return show(current, "privacy_contacts.html", case=case, back=f"/admin/cases/{quote(case.number)}")

    handlers: list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]] = [
        ("GET", "/admin/privacy", overview),
        ("POST", "/admin/privacy/retention", run_retention),
        ("POST", "/admin/privacy/retention/policy", save_policy),
        ("POST", "/admin/privacy/data-check", run_check),
        ("GET", "/admin/privacy/requests", requests_page),
        ("POST", "/admin/privacy/requests/export", export),
        ("POST", "/admin/privacy/requests/erase", erase),
        ("POST", "/admin/privacy/cases/{number}/contacts", unmask),
    ]
    return [web.route(method, path, handler) for method, path, handler in handlers]

