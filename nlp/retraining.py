"""Retrain a category model from what this business labelled (agents' corrections and the categories of its
handled cases) and install the candidate only when it is not worse than the current model.

The caller (the `plaint nlp retrain` command in bot/) reads the rows from the database and hands plain
`LabelledText`s here; nothing in this module knows where they came from.

- New rows: the handled cases' final categories, overridden by agents' corrections of the same text (a
  correction is the agent's explicit word; the latest one was kept by the caller).
- Held-out slice: drawn (seeded) from the NEW rows, the only ones that say what this business's customers
  write. Both models are scored on that same slice with the same metric (macro-F1; accuracy beside it), and
  base rows with a held-out text are dropped so the candidate never trains on what it is scored on.
- Candidate: trained on the base rows (what the current model learned from, when given) plus the rest of the
  new rows, with the settings `TrainingConfig.for_task` chose on development splits, and the current model's
  embedding view when it has one (the same directory, its weight chosen again; see nlp/embedding_view.py).
- Decision: installed when its macro-F1 on the slice is >= the current model's AND it still knows every
  category the current model knows (a candidate trained on a few corrections alone would otherwise silently
  stop proposing the categories nobody corrected; give the base rows to keep them).
- Installation is atomic: the candidate is saved in `<install_dir>.versions/v<time>` and `install_dir`, a
  symbolic link, is swapped to it with one `os.replace`; a reader sees the old model or the new one, never a
  half-written directory. The previous version is kept beside it (older ones are removed). A running server
  keeps the models it loaded: the new one is used from its next start.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from spacy.language import Language

from nlp.errors import TrainingDataError
from nlp.text_features import classifier_text
from nlp.training import (
    COMPONENT,
    LabelledText,
    Lang,
    TrainingConfig,
    TrainingResult,
    embedding_view_of,
    evaluate,
    load_model,
    save_model,
    split_holdout,
    train,
)

MIN_NEW_ROWS = 10
KEPT_VERSIONS = 2  # the installed model and the one before it


@dataclass(frozen=True)
class RetrainReport:
    """What a retrain did, for the operator and the admin console: counts, both scores and the decision.
    No customer text is in it (it is stored and shown)."""

    lang: Lang
    finished_at: str
    n_corrections: int
    n_cases: int
    n_base: int
    n_train: int
    n_heldout: int
    current_macro_f1: float
    candidate_macro_f1: float
    current_accuracy: float
    candidate_accuracy: float
    # Held-out texts whose predicted category differs between the two models, and of those how many the
    # candidate gets right where the current model was wrong (fixed) and the reverse (broken).
    changed_predictions: int
    fixed: int
    broken: int
    installed: bool
    # "installed", "worse" (lower macro-F1) or "missing_categories" (see missing_categories).
    decision: str
    model_dir: str
    missing_categories: tuple[str, ...] = field(default_factory=tuple)
    # The embedding view's directory when the current model has one (the candidate keeps it), else None.
    embedding_view: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "lang": self.lang, "finished_at": self.finished_at, "n_new": self.n_new,
            "n_corrections": self.n_corrections, "n_cases": self.n_cases, "n_base": self.n_base,
            "n_train": self.n_train, "n_heldout": self.n_heldout,
            "current_macro_f1": round(self.current_macro_f1, 4),
            "candidate_macro_f1": round(self.candidate_macro_f1, 4),
            "current_accuracy": round(self.current_accuracy, 4),
            "candidate_accuracy": round(self.candidate_accuracy, 4),
            "changed_predictions": self.changed_predictions, "fixed": self.fixed, "broken": self.broken,
            "installed": self.installed, "decision": self.decision,
            "missing_categories": list(self.missing_categories), "model_dir": self.model_dir,
            "embedding_view": self.embedding_view,
        }

    @property
    def n_new(self) -> int:
        return self.n_train - self.n_base + self.n_heldout


def merge_new_rows(corrections: Sequence[LabelledText], cases: Sequence[LabelledText]) -> list[LabelledText]:
    """One label per text: a case's category, replaced by an agent's correction of the same text."""
    labels: dict[str, str] = {}
    for row in [*cases, *corrections]:
        text = row.text.strip()
        if text and row.label:
            labels[text] = row.label
    return [LabelledText(text, label) for text, label in labels.items()]


def _labels(nlp: Language) -> set[str]:
    return set(nlp.get_pipe(COMPONENT).labels)  # type: ignore[attr-defined]


def _predictions(nlp: Language, rows: Sequence[LabelledText]) -> list[str]:
    return [max(doc.cats, key=doc.cats.__getitem__) if doc.cats else ""
            for doc in nlp.pipe(classifier_text(r.text) for r in rows)]


def retrain(current_dir: Path, corrections: Sequence[LabelledText], cases: Sequence[LabelledText] = (), *,
            lang: Lang, install_dir: Path, base_rows: Sequence[LabelledText] = (), seed: int = 0,
            heldout: float = 0.2, hash_length: int | None = None, epochs: int | None = None) -> RetrainReport:
    """Train a candidate, compare it with the model in `current_dir`, install it at `install_dir` if not worse."""
    new_rows = merge_new_rows(corrections, cases)
    if len(new_rows) < MIN_NEW_ROWS:
        raise TrainingDataError(f"{len(new_rows)} new labelled rows; need at least {MIN_NEW_ROWS} to compare models")
    current = load_model(current_dir)
    new_train, held = split_holdout(new_rows, heldout, seed)
    if not held:
        raise TrainingDataError("no held-out rows left to compare the models on")
    held_texts = {r.text for r in held}
    base = [r for r in base_rows if r.text.strip() not in held_texts]
    rows = [*base, *new_train]
    overrides: dict[str, object] = {"seed": seed}
    if hash_length is not None:
        overrides["hash_length"] = hash_length
    if epochs is not None:
        overrides["epochs"] = epochs
    view = embedding_view_of(current)
    if view is not None:
        # The candidate keeps the current model's embedding view (a retrain that silently dropped it would be scored
        # against a model that had it); its weight is chosen again on the candidate's held-out part, like the
        # temperature: one that was 0 on a few hundred rows may not be on more.
        overrides["embeddings"] = view[0]
    config = TrainingConfig.for_task(lang, len({r.label for r in rows}), **overrides)
    candidate = train(rows, config)
    current_report, candidate_report = evaluate(current, held), evaluate(candidate.nlp, held)
    before, after = _predictions(current, held), _predictions(candidate.nlp, held)
    changed = [(b, a, r.label) for b, a, r in zip(before, after, held, strict=True) if b != a]
    missing = tuple(sorted(_labels(current) - _labels(candidate.nlp)))
    if missing:
        decision = "missing_categories"
    elif candidate_report.macro_f1 >= current_report.macro_f1:
        decision = "installed"
    else:
        decision = "worse"
    if decision == "installed":
        install_model(candidate, install_dir, kind=f"{lang}_category",
                      sources=[f"retrain: {len(base)} base rows, {len(new_train)} of {len(new_rows)} new rows "
                               "(cases and agents' corrections)"])
    return RetrainReport(
        lang=lang, finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        n_corrections=len(corrections), n_cases=len(cases), n_base=len(base), n_train=len(rows),
        n_heldout=len(held), current_macro_f1=current_report.macro_f1,
        candidate_macro_f1=candidate_report.macro_f1, current_accuracy=current_report.accuracy,
        candidate_accuracy=candidate_report.accuracy, changed_predictions=len(changed),
        fixed=sum(1 for b, a, gold in changed if a == gold), broken=sum(1 for b, a, gold in changed if b == gold),
        installed=decision == "installed", decision=decision, model_dir=str(install_dir),
        missing_categories=missing, embedding_view=view[0] if view else None,
    )


def install_model(result: TrainingResult, install_dir: Path, *, kind: str, sources: Sequence[str]) -> Path:
    """Save the model as a new version and point `install_dir` (a symbolic link) at it in one atomic step."""
    versions = install_dir.with_name(install_dir.name + ".versions")
    versions.mkdir(parents=True, exist_ok=True)
    if install_dir.exists() and not install_dir.is_symlink():
        # A model directory installed by an earlier Plaint: it becomes the previous version.
        install_dir.rename(versions / f"v{time.time_ns():020d}")
    target = versions / f"v{time.time_ns():020d}"
    save_model(result, target, kind=kind, sources=sources)
    link = install_dir.with_name(install_dir.name + ".link-new")
    link.unlink(missing_ok=True)
    link.symlink_to(target.relative_to(install_dir.parent), target_is_directory=True)
    os.replace(link, install_dir)
    for old in sorted(p for p in versions.iterdir() if p.is_dir())[:-KEPT_VERSIONS]:
        shutil.rmtree(old, ignore_errors=True)
    return target
