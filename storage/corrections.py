"""What the NLP learns from: agents' corrections and the categories of handled cases, read back as labelled
examples for retraining (descriptions decrypted by the field with the installed data keys), and the retrain
reports the console shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.cases import CaseStatus
from storage.models import AuditEntry, Case, NlpCorrection
from storage.privacy import ERASED

# A case's category is a label once an agent has handled the case (a wrong one would have been reclassified).
LABELLED_STATUSES = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)
RETRAIN_ACTION = "nlp.retrained"
_BATCH = 500


@dataclass(frozen=True)
class CorrectionExample:
    text: str
    label: str
    lang: str


class TortoiseCorrections:
    async def examples(self, field: str, lang: str | None = None) -> list[CorrectionExample]:
        query = NlpCorrection.filter(field=field).order_by("id")
        if lang:
            query = query.filter(lang=lang)
        # The latest correction of a text wins: an agent may have corrected a correction.
        latest: dict[tuple[str, str], CorrectionExample] = {}
        for row in await query:
            latest[(row.text, row.lang)] = CorrectionExample(row.text, row.new_value, row.lang)
        return list(latest.values())

    async def case_examples(self, lang: str, *, excluded_categories: tuple[str, ...] = ()) -> list[CorrectionExample]:
        """Handled cases in `lang` as (description, final category); erased and anonymised cases are left out."""
        query = (Case.filter(lang=lang, status__in=LABELLED_STATUSES, category__isnull=False,
                             description__isnull=False)
                 .exclude(sender_id__startswith=f"{ERASED}-").order_by("id"))
        if excluded_categories:
            query = query.exclude(category__in=excluded_categories)
        found: list[CorrectionExample] = []
        last_id = 0
        while True:
            batch = await query.filter(id__gt=last_id).limit(_BATCH).only("id", "description", "category")
            if not batch:
                return found
            last_id = batch[-1].id
            found.extend(CorrectionExample(case.description, case.category, lang) for case in batch
                         if case.description and case.category and case.description.strip())


async def record_retrain(report: dict[str, Any], *, actor: str, via: str) -> None:
    """The report of one `plaint nlp retrain` (counts, scores, decision: no customer text), in the audit log."""
    await AuditEntry.create(actor=actor[:300], via=via, action=RETRAIN_ACTION, object_type="nlp_model",
                            object_id=f"{report.get('lang', '')}_category", after=report, changes=[])


async def last_retrains() -> list[tuple[datetime, str, dict[str, Any]]]:
    """The newest report per language: (when, who, report), newest first."""
    newest: dict[str, tuple[datetime, str, dict[str, Any]]] = {}
    for entry in await AuditEntry.filter(action=RETRAIN_ACTION).order_by("-id").limit(50):
        newest.setdefault(entry.object_id, (entry.created_at, entry.actor, entry.after))
    return sorted(newest.values(), key=lambda item: item[0], reverse=True)
