"""Agents' corrections of the NLP, read back as labelled examples for retraining."""

from __future__ import annotations

from dataclasses import dataclass

from storage.models import NlpCorrection


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
