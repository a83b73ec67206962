"""Errors raised by the NLP package: one root, typed subclasses that carry what went wrong."""

from __future__ import annotations

from pathlib import Path


class NlpError(Exception):
    """Root of every error the nlp package raises on purpose."""


class TrainingDataError(NlpError):
    """A labelled CSV cannot be used for training or evaluation.

    `row` is the 1-based line number in the file (the header is line 1) when one row is at fault;
    `column` names the column at fault when there is one.
    """

    def __init__(self, message: str, *, path: Path | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        where = []
        if path is not None:
            where.append(str(path))
        if row is not None:
            where.append(f"line {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{': '.join([', '.join(where), message]) if where else message}")
        self.path = path
        self.row = row
        self.column = column


class ModelLoadError(NlpError):
    """A trained model directory is missing, incomplete or was not written by Plaint."""

    def __init__(self, message: str, *, path: Path) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class CatalogError(NlpError):
    """The product catalog file is malformed; `entry` is the offending product id or index."""

    def __init__(self, message: str, *, path: Path | None = None, entry: str | None = None) -> None:
        prefix = ", ".join(p for p in (str(path) if path else "", f"entry {entry!r}" if entry else "") if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.path = path
        self.entry = entry


class InputTextError(NlpError):
    """The input text cannot be decoded (the CLI reports it; `analyze` never raises it for str input)."""


class EmbeddingsError(NlpError):
    """The optional embedding view cannot be used: its directory is missing or holds another table than the one
    the model was trained with, or the `embeddings` extra (tokenizers, safetensors) is not installed."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(f"{path}: {message}" if path is not None else message)
        self.path = path
