"""The storage package's root exception and its typed subclasses."""

from __future__ import annotations


class StorageError(Exception):
    """Root of everything the storage package raises on purpose."""


class EvidenceTooLarge(StorageError):
    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"file exceeds {limit_bytes} bytes")
        self.limit_bytes = limit_bytes


class CaseNotFound(StorageError):
    def __init__(self, number: str) -> None:
        super().__init__(f"no case {number}")
        self.number = number


class EvidenceNotFound(StorageError):
    def __init__(self, evidence_id: int) -> None:
        super().__init__(f"no evidence {evidence_id}")
        self.evidence_id = evidence_id
