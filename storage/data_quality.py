"""Data quality: what is invalid or inconsistent in the stored cases, and the clean-up that normalises contacts
and merges the customers that are one person.

The check reads every case once (a batch at a time; personal values are decrypted in memory only) and reports
counts with example case numbers, never a personal value. The clean-up writes an undo record (encrypted, it
holds the old contacts) in the same transaction as its changes, so `undo_clean` can put everything back.
"""

from __future__ import annotations

import difflib
import json
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from flows.contact_parsing import InvalidAnswer, parse_email, parse_phone
from storage.crypto import decrypt_text, encrypt_text, lookup_hash
from storage.errors import StorageError
from storage.models import AuditEntry, Case, ChannelIdentity, case_changes
from storage.privacy import ERASED

EXAMPLES = 5
# Near-duplicates are looked for among one person's most recent cases (a bound that keeps the check linear).
NEAR_WINDOW = 20
NEAR_RATIO = 0.85
_REGION_BY_LANG = {"zh": "CN"}


class CleanRecordNotFound(StorageError):
    def __init__(self, entry_id: int) -> None:
        super().__init__(f"no data clean-up with audit entry {entry_id}, or it was undone already")
        self.entry_id = entry_id


@dataclass
class Finding:
    """One kind of problem: how many, and the first case numbers that have it."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, *numbers: str) -> None:
        self.count += 1
        for number in numbers:
            if len(self.examples) < EXAMPLES and number not in self.examples:
                self.examples.append(number)


FINDINGS = (
    "invalid_phone", "invalid_email", "contact_not_normalised", "missing_name", "missing_contact",
    "missing_description", "person_under_several_identities", "exact_duplicate_cases", "near_duplicate_cases",
)


@dataclass(frozen=True)
class QualityReport:
    cases_checked: int
    findings: dict[str, Finding]

    def document(self) -> dict[str, Any]:
        return {
            "cases_checked": self.cases_checked,
            "findings": {
                name: {"count": item.count, "examples": item.examples} for name, item in self.findings.items()
            },
        }


def _region(lang: str) -> str | None:
    return _REGION_BY_LANG.get(lang)


def _words(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


@dataclass(frozen=True)
class _CaseView:
    id: int
    number: str
    customer_id: int
    phone_hash: str | None
    email_hash: str | None
    description: str
    product: str | None


async def _active_cases(batch_size: int = 500) -> Any:
    """Every case not anonymised, in id order, a batch at a time."""
    last = 0
    while True:
        batch = await Case.filter(id__gt=last).exclude(sender_id__startswith=f"{ERASED}-").order_by("id").limit(
            batch_size)
        if not batch:
            return
        for case in batch:
            yield case
        last = batch[-1].id


async def check_data() -> QualityReport:
    findings = {name: Finding() for name in FINDINGS}
    checked = 0
    people: dict[str, set[int]] = defaultdict(set)  # contact hash -> customer ids
    people_cases: dict[str, list[str]] = defaultdict(list)
    by_customer: dict[int, list[_CaseView]] = defaultdict(list)
    async for case in _active_cases():
        checked += 1
        not_normalised = False
        if case.phone:
            parsed = parse_phone(case.phone, _region(case.lang))
            if isinstance(parsed, InvalidAnswer):
                findings["invalid_phone"].add(case.number)
            not_normalised |= isinstance(parsed, str) and parsed != case.phone
        if case.email:
            parsed = parse_email(case.email)
            if isinstance(parsed, InvalidAnswer):
                findings["invalid_email"].add(case.number)
            not_normalised |= isinstance(parsed, str) and parsed != case.email
        if not_normalised:
            findings["contact_not_normalised"].add(case.number)
        if not (case.name or "").strip():
            findings["missing_name"].add(case.number)
        if not case.phone and not case.email:
            findings["missing_contact"].add(case.number)
        if not (case.description or "").strip():
            findings["missing_description"].add(case.number)
        for key in (case.phone_hash, case.email_hash):
            if key:
                people[key].add(case.customer_id)
                people_cases[key].append(case.number)
        view = _CaseView(case.id, case.number, case.customer_id, case.phone_hash, case.email_hash,
                         _words(case.description), case.product)
        recent = by_customer[case.customer_id]
        for other in recent:
            if not view.description or view.product != other.product:
                continue
            if view.description == other.description:
                findings["exact_duplicate_cases"].add(other.number, view.number)
            elif difflib.SequenceMatcher(None, view.description, other.description).ratio() >= NEAR_RATIO:
                findings["near_duplicate_cases"].add(other.number, view.number)
        recent.append(view)
        del recent[:-NEAR_WINDOW]
    seen: set[frozenset[int]] = set()
    for key, customers in people.items():
        if len(customers) > 1 and frozenset(customers) not in seen:
            seen.add(frozenset(customers))
            findings["person_under_several_identities"].add(*people_cases[key][:2])
    return QualityReport(checked, findings)


@dataclass(frozen=True)
class CleanPlan:
    """What a clean-up changes: contacts to normalise (case id -> new phone, email) and customers to merge
    (customer id -> the customer it joins)."""

    contacts: dict[int, tuple[str | None, str | None]]
    merges: dict[int, int]
    examples: list[str]


def _find(parent: dict[int, int], item: int) -> int:
    while parent.setdefault(item, item) != item:
        parent[item] = parent[parent[item]]
        item = parent[item]
    return item


async def plan_clean() -> CleanPlan:
    contacts: dict[int, tuple[str | None, str | None]] = {}
    parent: dict[int, int] = {}
    first_by_key: dict[str, int] = {}
    examples: list[str] = []
    async for case in _active_cases():
        phone, email = case.phone, case.email
        if phone:
            parsed = parse_phone(phone, _region(case.lang))
            phone = parsed if isinstance(parsed, str) else phone
        if email:
            parsed = parse_email(email)
            email = parsed if isinstance(parsed, str) else email
        if (phone, email) != (case.phone, case.email):
            contacts[case.id] = (phone, email)
            if len(examples) < EXAMPLES:
                examples.append(case.number)
        # The same normalised phone or email is the same person, whichever channel they wrote from.
        for key in (f"phone:{phone}" if phone else None, f"email:{email.lower()}" if email else None):
            if key is None:
                continue
            if key in first_by_key:
                a, b = _find(parent, first_by_key[key]), _find(parent, case.customer_id)
                if a != b:
                    parent[max(a, b)] = min(a, b)
                    if len(examples) < EXAMPLES and case.number not in examples:
                        examples.append(case.number)
            else:
                first_by_key[key] = case.customer_id
    merges = {customer: _find(parent, customer) for customer in list(parent) if _find(parent, customer) != customer}
    return CleanPlan(contacts, merges, examples)


async def apply_clean(plan: CleanPlan, *, actor: str, via: str) -> int:
    """Apply the plan in one transaction with its undo record; returns the audit entry's id."""
    async with in_transaction():
        undo: dict[str, Any] = {"cases": {}, "identities": {}}
        for case_id, (phone, email) in plan.contacts.items():
            case = await Case.get(id=case_id)
            undo["cases"][str(case_id)] = {"phone": case.phone, "email": case.email, "customer_id": case.customer_id}
            await Case.filter(id=case_id).update(**case_changes(
                phone=phone, email=email, phone_hash=lookup_hash("phone", phone), email_hash=lookup_hash("email", email)
            ))
        for loser, survivor in plan.merges.items():
            for case in await Case.filter(customer_id=loser):
                undo["cases"].setdefault(str(case.id), {"customer_id": loser})["customer_id"] = loser
            for identity in await ChannelIdentity.filter(customer_id=loser):
                undo["identities"][str(identity.id)] = loser
            await Case.filter(customer_id=loser).update(**case_changes(customer_id=survivor))
            await ChannelIdentity.filter(customer_id=loser).update(customer_id=survivor)
        entry = await AuditEntry.create(
            actor=actor[:300], via=via, action="data.cleaned", object_type="data_quality", object_id="clean",
            # The undo record holds the old contacts: encrypted like them.
            before={"undo": encrypt_text(json.dumps(undo, ensure_ascii=False))},
            after={"contacts_normalised": len(plan.contacts), "customers_merged": len(plan.merges),
                   "examples": plan.examples},
            changes=[f"contacts normalised: {len(plan.contacts)}", f"customers merged: {len(plan.merges)}"],
        )
    return entry.id


async def undo_clean(entry_id: int, *, actor: str, via: str) -> int:
    """Put back what the clean-up of audit entry `entry_id` changed; returns how many rows were restored."""
    async with in_transaction():
        entry = await AuditEntry.get_or_none(id=entry_id, action="data.cleaned")
        if entry is None or await AuditEntry.filter(action="data.clean_undone", object_id=str(entry_id)).exists():
            raise CleanRecordNotFound(entry_id)
        undo = json.loads(decrypt_text(str((entry.before or {}).get("undo", "{}"))))
        restored = 0
        for case_id, old in undo.get("cases", {}).items():
            changes: dict[str, Any] = {"customer_id": old["customer_id"]}
            if "phone" in old:
                changes |= {"phone": old["phone"], "email": old["email"],
                            "phone_hash": lookup_hash("phone", old["phone"]),
                            "email_hash": lookup_hash("email", old["email"])}
            restored += await Case.filter(id=int(case_id)).update(**case_changes(**changes))
        for identity_id, customer_id in undo.get("identities", {}).items():
            restored += await ChannelIdentity.filter(id=int(identity_id)).update(customer_id=int(customer_id))
        await AuditEntry.create(
            actor=actor[:300], via=via, action="data.clean_undone", object_type="data_quality",
            object_id=str(entry_id), after={"rows_restored": restored}, changes=[f"rows restored: {restored}"],
        )
    return restored


async def record_check(report: QualityReport, *, actor: str, via: str) -> None:
    """The report as the console shows it (the last one): counts and case numbers only."""
    await AuditEntry.create(
        actor=actor[:300], via=via, action="data.checked", object_type="data_quality", object_id="check",
        after=report.document(), changes=[],
    )


async def last_check() -> tuple[Any, dict[str, Any]] | None:
    entry = await AuditEntry.filter(action="data.checked").order_by("-id").first()
    return None if entry is None else (entry.created_at, entry.after)

