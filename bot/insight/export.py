"""Exports: one row per case, a stable documented schema (docs/export-schema.md), as CSV, JSON Lines or XLSX.

Rows are written as they are read (storage pages through the cases), so a million cases never sit in memory.
XLSX is a zip whose directory comes last: it is built in a temporary file in xlsxwriter's constant-memory mode
and then streamed."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Literal

from storage.insight import CaseExportRow

ExportFormat = Literal["csv", "jsonl", "xlsx"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "jsonl", "xlsx")
SCHEMA_VERSION = 2
MEDIA_TYPES: dict[ExportFormat, str] = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# The documented column order; never reorder or rename (analysts' scripts read them): add at the end.
COLUMNS: tuple[str, ...] = (
    "number", "channel", "lang", "status", "team", "assignee", "name", "phone", "email", "description",
    "occurred_at", "occurred_where", "expected_resolution", "product", "product_confidence", "category",
    "category_confidence", "flow_id", "flow_version", "created_at", "first_response_at", "resolved_at",
    "resolution_seconds", "reopen_count", "resolution_code", "evidence_count", "evidence_sha256",
    # schema version 2
    "priority", "sla_outcome", "csat_status", "csat_score", "duplicate_of", "product_source", "category_source",
    "extra_fields",
)

Cell = str | int | float | None


def row_cells(row: CaseExportRow) -> dict[str, Cell]:
    cells: dict[str, Cell] = {}
    for column in COLUMNS:
        if column == "evidence_count":
            cells[column] = len(row.evidence)
        elif column == "evidence_sha256":
            cells[column] = " ".join(item.sha256 for item in row.evidence)
        elif column == "extra_fields":
            # Every collected answer beyond the standard columns, as one JSON object (keys sorted: stable).
            cells[column] = json.dumps(row.extra_fields, ensure_ascii=False, sort_keys=True, default=str)
        else:
            value = getattr(row, column)
            cells[column] = value.isoformat() if isinstance(value, datetime) else value
    return cells


def _mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return "*" * max(0, len(digits) - 4) + digits[-4:]


def _mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def masked(row: CaseExportRow) -> CaseExportRow:
    """What a role without access to contact details may export: the case stays, the person does not."""
    return replace(
        row,
        name=(row.name[:1] + "***") if row.name else row.name,
        phone=_mask_phone(row.phone) if row.phone else row.phone,
        email=_mask_email(row.email) if row.email else row.email,
        # Free answers may name a person: their keys stay, their values do not.
        extra_fields={key: "***" for key in row.extra_fields},
    )


# A spreadsheet runs a cell that starts with these as a formula (CSV injection): customer text is hostile.
_FORMULA_START = ("=", "@", "\t", "\r")
_PLAIN_SIGNED = re.compile(r"[+-][\d\s().-]*")


def spreadsheet_safe(value: str) -> str:
    if value.startswith(_FORMULA_START) or (value[:1] in "+-" and value and not _PLAIN_SIGNED.fullmatch(value)):
        return "'" + value
    return value


def _csv_cell(value: Cell) -> str | int | float:
    if value is None:
        return ""
    return spreadsheet_safe(value) if isinstance(value, str) else value


async def csv_chunks(rows: AsyncIterator[CaseExportRow]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def take() -> bytes:
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return data

    buffer.write("\ufeff")  # Excel reads UTF-8 (Chinese) only with the byte-order mark
    writer.writerow(COLUMNS)
    yield take()
    async for row in rows:
        writer.writerow(_csv_cell(value) for value in row_cells(row).values())
        yield take()


async def jsonl_chunks(rows: AsyncIterator[CaseExportRow]) -> AsyncIterator[bytes]:
    async for row in rows:
        document: dict[str, object] = {"schema_version": SCHEMA_VERSION, **row_cells(row)}
        document["evidence"] = [
            {"file_name": item.file_name, "media_type": item.media_type, "size": item.size, "sha256": item.sha256}
            for item in row.evidence
        ]
        del document["evidence_sha256"]
        document["extra_fields"] = row.extra_fields
        yield (json.dumps(document, ensure_ascii=False) + "\n").encode("utf-8")


async def _xlsx_file(rows: AsyncIterator[CaseExportRow], path: Path) -> None:
    import xlsxwriter  # type: ignore[import-untyped]  # a tenth of a second: not at start-up

    workbook = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    try:
        sheet = workbook.add_worksheet("cases")
        sheet.write_row(0, 0, COLUMNS)
        row_number = 1
        async for row in rows:
            cells = row_cells(row)
            sheet.write_row(row_number, 0, [cells[c] for c in COLUMNS])
            row_number += 1
    finally:
        # Closing zips the whole workbook: seconds for a large export, so off the event loop.
        await asyncio.to_thread(workbook.close)


async def xlsx_chunks(rows: AsyncIterator[CaseExportRow], chunk_bytes: int = 64 * 1024) -> AsyncIterator[bytes]:
    with tempfile.TemporaryDirectory(prefix="plaint-export-") as directory:
        path = Path(directory) / "cases.xlsx"
        await _xlsx_file(rows, path)
        with path.open("rb") as handle:
            while chunk := handle.read(chunk_bytes):
                yield chunk


_WRITERS: dict[ExportFormat, Callable[[AsyncIterator[CaseExportRow]], AsyncIterator[bytes]]] = {
    "csv": csv_chunks,
    "jsonl": jsonl_chunks,
    "xlsx": xlsx_chunks,
}


async def export_chunks(
    rows: AsyncIterator[CaseExportRow], export_format: ExportFormat, *, mask: bool
) -> AsyncIterator[bytes]:
    """The export as byte chunks, ready for a file or an HTTP stream."""

    async def prepared() -> AsyncIterator[CaseExportRow]:
        async for row in rows:
            yield masked(row) if mask else row

    async for chunk in _WRITERS[export_format](prepared()):
        yield chunk
