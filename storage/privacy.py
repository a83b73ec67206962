"""Requests from a data subject: find everything of one person, export it, erase it.

A person is found by a channel address (`telegram:12345`), or by phone or email through the keyed hashes stored
beside the encrypted values, which links their cases across channels. Erasing keeps each case row with its
status, channel, language, product, category and dates (the statistics still add up) and removes everything
that says who they were or what they wrote; `hard` deletes the cases too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import PurePosixPath
from typing import IO, Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from storage.crypto import lookup_hashes
from storage.errors import StorageError
from storage.evidence import LocalEvidenceStore
from storage.insight_rollup import delete_cases
from storage.models import (
    Case,
    CaseEvent,
    ChannelIdentity,
    Conversation,
    CsatSurvey,
    Customer,
    DeliveryPace,
    Evidence,
    InboundReceipt,
    InboxItem,
    InboxStatus,
    NlpCorrection,
    OutboxItem,
    OutboxStatus,
    TranscriptMessage,
    WebhookDelivery,
    case_changes,
)

PERSONAL_CASE_FIELDS = (
    "name", "phone", "email", "description", "occurred_where", "expected_resolution", "resolution_summary",
)
ERASED = "erased"
# What an erased person's webhook event keeps of its case: the counts a receiver reconciles, nobody's data.
_WEBHOOK_CASE_KEPT = ("number", "status", "channel", "lang", "product", "category", "team", "resolution_code",
                      "created_at", "updated_at")

_OUTBOX_OPEN = (OutboxStatus.PENDING, OutboxStatus.SENDING)
# What a queued row about a case may carry of the customer: their words (a follow-up for the desk) and the
# fields a change touched.
_PERSONAL_PAYLOAD_KEYS = frozenset({"text", "details"})


class SubjectNotFound(StorageError):
    def __init__(self, described: str) -> None:
        super().__init__(f"no stored data for {described}")
        self.described = described


@dataclass(frozen=True)
class SubjectQuery:
    channel: str | None = None
    sender_id: str | None = None
    phone: str | None = None
    email: str | None = None

    def describe(self) -> str:
        # Never the value itself: this text reaches logs and audit events.
        if self.channel:
            return f"a {self.channel} customer"
        return "a phone number" if self.phone else "an email address"


@dataclass(frozen=True)
class Subject:
    customer_ids: tuple[int, ...]
    identity_ids: tuple[int, ...]
    case_ids: tuple[int, ...]
    case_numbers: tuple[str, ...]
    lang: str


@dataclass(frozen=True)
class ErasureReport:
    cases_anonymised: int
    cases_deleted: int
    messages_deleted: int
    evidence_files_deleted: int


async def find_subject(query: SubjectQuery) -> Subject:
    customer_ids: set[int] = set()
    if query.channel and query.sender_id:
        identity = await ChannelIdentity.get_or_none(channel=query.channel, sender_id=query.sender_id)
        if identity is not None:
            customer_ids.add(identity.customer_id)
    for kind, value in (("phone", query.phone), ("email", query.email)):
        if value:
            column = f"{kind}_hash__in"
            rows = await Case.filter(**{column: lookup_hashes(kind, value)}).values_list("customer_id", flat=True)
            customer_ids.update(int(row) for row in rows)  # type: ignore[call-overload]
    if not customer_ids:
        raise SubjectNotFound(query.describe())
    identities = await ChannelIdentity.filter(customer_id__in=customer_ids).values_list("id", flat=True)
    cases = await Case.filter(customer_id__in=customer_ids).order_by("id")
    langs = [case.lang for case in cases] or ["en"]
    return Subject(
        customer_ids=tuple(sorted(customer_ids)),
        identity_ids=tuple(sorted(int(row) for row in identities)),  # type: ignore[call-overload]
        case_ids=tuple(case.id for case in cases),
        case_numbers=tuple(case.number for case in cases),
        lang=max(set(langs), key=langs.count),
    )


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _safe_name(name: str) -> str:
    cleaned = "".join(char if char.isalnum() or char in "._- " else "_" for char in PurePosixPath(name).name)
    return cleaned.strip(" .") or "file"


_SUMMARY = {
    "en": (
        "Your data held by us\n\n"
        "This archive holds everything we store about you: {cases} case(s) ({numbers}), {messages} message(s) "
        "and {files} file(s) you sent us.\n"
        "data.json lists every case with its fields, its messages and its history; the folder evidence/ holds "
        "your files, by case number.\n"
        "Exported on {when} (UTC).\n"
    ),
    "zh": (
        "我们保存的您的数据\n\n"
        "本压缩包包含我们保存的关于您的全部数据：{cases} 个投诉（{numbers}），{messages} 条消息，"
        "{files} 个您发送的文件。\n"
        "data.json 列出每个投诉的全部字段、消息和处理记录；evidence/ 文件夹按投诉编号存放您的文件。\n"
        "导出时间：{when}（UTC）。\n"
    ),
}


async def export_subject(subject: Subject, sink: IO[bytes], evidence: LocalEvidenceStore) -> dict[str, int]:
    """Write a ZIP: data.json, summary.txt in their language, evidence/<case number>/<file>; files stream in
    chunks, never whole in memory."""
    customers = await Customer.filter(id__in=subject.customer_ids).order_by("id")
    identities = await ChannelIdentity.filter(id__in=subject.identity_ids).order_by("id")
    cases = await Case.filter(id__in=subject.case_ids).order_by("id")
    messages = await TranscriptMessage.filter(identity_id__in=subject.identity_ids).order_by("id")
    evidence_rows = await Evidence.filter(case_id__in=subject.case_ids).order_by("id")
    events = await CaseEvent.filter(case_id__in=subject.case_ids).order_by("id")
    number_of = {case.id: case.number for case in cases}
    document: dict[str, Any] = {
        "customers": [
            {"display_name": row.display_name, "lang": row.lang, "created_at": _plain(row.created_at)}
            for row in customers
        ],
        "channels": [
            {"channel": row.channel, "id": row.sender_id, "locale": row.locale, "since": _plain(row.created_at)}
            for row in identities
        ],
        "cases": [
            {
                **{
                    name: _plain(getattr(case, name))
                    for name in ("number", "status", "channel", "lang", *PERSONAL_CASE_FIELDS, "occurred_at",
                                 "product", "category", "extra", "created_at", "updated_at")
                },
                "messages": [
                    {"at": _plain(row.created_at), "from": row.author, "text": row.text}
                    for row in messages if row.case_id == case.id
                ],
                "history": [
                    {"at": _plain(row.created_at), "event": row.kind} for row in events if row.case_id == case.id
                ],
                "files": [
                    {"name": row.file_name, "type": row.media_type, "size": row.size, "sha256": row.sha256}
                    for row in evidence_rows if row.case_id == case.id
                ],
            }
            for case in cases
        ],
        "messages_outside_cases": [
            {"at": _plain(row.created_at), "from": row.author, "text": row.text}
            for row in messages if row.case_id is None
        ],
    }
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(document, ensure_ascii=False, indent=2))
        template = _SUMMARY.get(subject.lang, _SUMMARY["en"])
        archive.writestr("summary.txt", template.format(
            cases=len(cases), numbers=", ".join(number_of.values()) or "-", messages=len(messages),
            files=len(evidence_rows), when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        ))
        used: set[str] = set()
        for row in evidence_rows:
            name = f"evidence/{number_of.get(row.case_id or 0, 'other')}/{row.id}-{_safe_name(row.file_name)}"
            if name in used:
                continue
            used.add(name)
            digest = hashlib.sha256()
            with archive.open(name, "w") as member:
                async for chunk in evidence.read(row.storage_key):
                    digest.update(chunk)
                    member.write(chunk)
    return {"cases": len(cases), "messages": len(messages), "files": len(evidence_rows)}


async def record_event(subject: Subject, kind: str, actor: str, data: dict[str, int]) -> None:
    """The audit trail of a request, on each case it touched (the admin's audit log is not on this branch)."""
    for case_id in subject.case_ids:
        await CaseEvent.create(case_id=case_id, kind=kind, actor=actor[:100], data=data)


async def erase_subject(
    subject: Subject, evidence: LocalEvidenceStore, *, actor: str, hard: bool = False
) -> ErasureReport:
    """Erase in one transaction, then delete the files nothing else refers to.

    The person's updates still waiting in the inbox are deleted first: a turn taking one of them holds its row
    locked inside its transaction (storage/inbox.py), so the erasure waits for that turn to commit and then
    erases what it stored too (the cases are looked up again), or the turn, coming later, finds its row gone
    and stores nothing."""
    addresses = [
        f"{channel}:{sender_id}"
        for channel, sender_id in await ChannelIdentity.filter(id__in=subject.identity_ids).values_list(
            "channel", "sender_id"
        )
    ]
    async with in_transaction():
        await _drop_waiting_updates(addresses)
        cases = await Case.filter(customer_id__in=subject.customer_ids).order_by("id").values_list("id", "number")
        subject = replace(subject, case_ids=tuple(int(row[0]) for row in cases),
                          case_numbers=tuple(str(row[1]) for row in cases))
        conversation_ids = list(
            await Conversation.filter(identity_id__in=subject.identity_ids).values_list("id", flat=True)
        )
        receipt_ids = list(
            await InboundReceipt.filter(conversation_id__in=conversation_ids).values_list("id", flat=True)
        )
        by_id = {
            row.id: row
            for row in [
                *await Evidence.filter(case_id__in=subject.case_ids),
                *await Evidence.filter(conversation_id__in=conversation_ids),
            ]
        }
        evidence_rows = list(by_id.values())
        storage_keys = {row.storage_key for row in evidence_rows}
        messages = await TranscriptMessage.filter(identity_id__in=subject.identity_ids).count()
        await _erase_inbox(addresses)
        # A per-recipient rate limit is keyed by the address (`message:telegram:<chat id>`): forgotten too.
        for address in addresses:
            await DeliveryPace.filter(key__endswith=f":{address}").delete()
        await _erase_outbox(addresses, receipt_ids, subject.case_numbers)
        await TranscriptMessage.filter(identity_id__in=subject.identity_ids).delete()
        await TranscriptMessage.filter(case_id__in=subject.case_ids).delete()
        await Evidence.filter(id__in=[row.id for row in evidence_rows]).delete()
        await NlpCorrection.filter(case_id__in=subject.case_ids).delete()
        # Deleting the channel addresses deletes their conversations (and the answers in their state).
        await ChannelIdentity.filter(id__in=subject.identity_ids).delete()
        if hard:
            await _erase_webhook_bodies(subject.case_numbers)
            await CaseEvent.filter(case_id__in=subject.case_ids).delete()
            await delete_cases(subject.case_ids)
            await Customer.filter(id__in=subject.customer_ids).delete()
        else:
            await anonymise_cases(subject.case_ids)
            await Customer.filter(id__in=subject.customer_ids).update(display_name=None)
            await record_event(subject, "personal_data_erased", actor, {"messages": messages,
                                                                        "files": len(evidence_rows)})
    deleted_files = await delete_unreferenced_files(evidence, storage_keys)
    return ErasureReport(
        cases_anonymised=0 if hard else len(subject.case_ids),
        cases_deleted=len(subject.case_ids) if hard else 0,
        messages_deleted=messages,
        evidence_files_deleted=deleted_files,
    )


async def _drop_waiting_updates(addresses: Sequence[str]) -> None:
    """The person's updates received and not yet processed are dropped (their turn would store them again)."""
    if addresses:
        await InboxItem.filter(
            ordering_key__in=list(addresses), status__in=(InboxStatus.PENDING, InboxStatus.PROCESSING)
        ).delete()


async def _erase_inbox(addresses: Sequence[str]) -> None:
    """Processed updates keep their row, so a late platform retry is still recognised, without the chat's
    address (the waiting ones were dropped first)."""
    if not addresses:
        return
    await _drop_waiting_updates(addresses)
    await InboxItem.filter(ordering_key__in=list(addresses)).update(
        ordering_key=ERASED, payload={}, last_error=None, claimed_by=None
    )


async def _erase_outbox(addresses: Sequence[str], receipt_ids: Sequence[object], case_numbers: Sequence[str]) -> None:
    """Messages to the person still waiting are dropped; delivered and dead ones keep their row (status,
    channel, kind, attempts, dates: the delivery figures) without the address, the text or the platform's
    error. Rows about their cases (desk, webhooks, connectors, case events) keep their case number: still
    waiting ones lose the customer's words, settled ones their whole payload."""
    def to_person() -> Q:
        return Q(ordering_key__in=list(addresses)) | Q(receipt_id__in=list(receipt_ids))

    await OutboxItem.filter(to_person(), status__in=_OUTBOX_OPEN).delete()
    for row in await OutboxItem.filter(to_person()).only("id", "channel"):
        await OutboxItem.filter(id=row.id).update(
            ordering_key=f"{row.channel}:{ERASED}", payload={}, last_error=None
        )
    for number in case_numbers:
        about_case = OutboxItem.filter(ordering_key__endswith=f":{number}")
        await about_case.filter(status__not_in=_OUTBOX_OPEN).update(payload={}, last_error=None)
        for row in await OutboxItem.filter(ordering_key__endswith=f":{number}", status__in=_OUTBOX_OPEN):
            payload = row.payload if isinstance(row.payload, dict) else {}
            if _PERSONAL_PAYLOAD_KEYS & payload.keys():
                kept = {key: value for key, value in payload.items() if key not in _PERSONAL_PAYLOAD_KEYS}
                await OutboxItem.filter(id=row.id).update(payload=kept)


async def anonymise_cases(case_ids: Sequence[int]) -> set[str]:
    """Keep the case rows (status, channel, language, product, category, dates: the statistics) and remove what
    says who the customer was or what they wrote: fields, messages, files, corrections, comments, event details.
    Returns the storage keys of the evidence rows removed (delete the files after the transaction)."""
    ids = list(case_ids)
    numbers = list(await Case.filter(id__in=ids).values_list("number", flat=True))
    conversation_ids = [
        int(row) for row in  # type: ignore[call-overload]
        await Case.filter(id__in=ids, conversation_id__isnull=False).values_list("conversation_id", flat=True)
    ]
    evidence_rows = await Evidence.filter(case_id__in=ids)
    await Evidence.filter(id__in=[row.id for row in evidence_rows]).delete()
    await TranscriptMessage.filter(case_id__in=ids).delete()
    await NlpCorrection.filter(case_id__in=ids).delete()
    # The answers the conversation collected are the same personal data as the case fields.
    await Conversation.filter(id__in=conversation_ids).update(state={})
    for case_id in ids:
        await Case.filter(id=case_id).update(**case_changes(
            **dict.fromkeys(PERSONAL_CASE_FIELDS), phone_hash=None, email_hash=None, extra={},
            sender_id=f"{ERASED}-{case_id}",
        ))
    # The score still counts in satisfaction figures; the words and the address go.
    await CsatSurvey.filter(case_id__in=ids).update(comment=None, sender_id=ERASED)
    await CaseEvent.filter(case_id__in=ids).update(data={})
    await _erase_webhook_bodies([str(number) for number in numbers])
    return {row.storage_key for row in evidence_rows}


async def delete_unreferenced_files(evidence: LocalEvidenceStore, storage_keys: set[str]) -> int:
    """Delete the files of `storage_keys` that no evidence row refers to any more (identical uploads share one
    file); call after the transaction that removed the rows committed."""
    still_used = {
        str(key) for key in await Evidence.filter(storage_key__in=list(storage_keys)).values_list(
            "storage_key", flat=True
        )
    }
    deleted = 0
    for key in storage_keys - still_used:
        path = evidence.path_of(key)
        if path.exists():
            path.unlink()
            deleted += 1
    return deleted


async def sweep_unreferenced_files(evidence: LocalEvidenceStore, older_than: float, now: float | None = None) -> int:
    """Delete the evidence files no row refers to and nobody wrote for `older_than` seconds: what a crash left
    between a committed removal and its file deletion, or between an upload and the row that would have named
    it (an upload's row commits seconds after its file, and a new upload of the same bytes renews the file)."""
    limit = (time.time() if now is None else now) - older_than
    keys = evidence.storage_keys()
    deleted = 0
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        used = {str(key) for key in await Evidence.filter(storage_key__in=chunk).values_list(
            "storage_key", flat=True)}
        for key in chunk:
            if key in used:
                continue
            path = evidence.path_of(key)
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < limit:
                    path.unlink()
                    deleted += 1
    return deleted


def erased_webhook_body(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        return {"personal_data": ERASED}
    case = body.get("case")
    kept = {key: value for key, value in body.items() if key != "case"}
    if isinstance(case, dict):
        kept["case"] = {key: case[key] for key in _WEBHOOK_CASE_KEPT if key in case} | {"personal_data": ERASED}
    return kept


async def _erase_webhook_bodies(case_numbers: Sequence[str]) -> None:
    for row in await WebhookDelivery.filter(case_number__in=list(case_numbers)):
        await WebhookDelivery.filter(id=row.id).update(body=erased_webhook_body(row.body))


def subject_query(customer: str | None, phone: str | None, email: str | None) -> SubjectQuery:
    given: Sequence[str | None] = (customer, phone, email)
    if sum(value is not None for value in given) != 1:
        raise ValueError("give exactly one of --customer CHANNEL:ID, --phone, --email")
    if customer is not None:
        channel, sep, sender_id = customer.partition(":")
        if not sep or not channel or not sender_id:
            raise ValueError("--customer is CHANNEL:ID, for example telegram:123456789")
        return SubjectQuery(channel=channel.strip(), sender_id=sender_id.strip())
    return SubjectQuery(phone=phone, email=email)


@dataclass(frozen=True)
class DataRequest:
    """A customer's request from the chat, as the DPO's list shows it (no personal value)."""

    number: str
    status: str
    channel: str
    lang: str
    created_at: datetime


async def data_requests(category: str, limit: int = 100) -> list[DataRequest]:
    rows = await Case.filter(category=category).order_by("-id").limit(limit)
    return [DataRequest(row.number, row.status, row.channel, row.lang, row.created_at) for row in rows]
