"""Retrain a category model from new labelled rows (agents' corrections, stored cases) and install the
candidate only when it is not worse than the current model on a held-out slice of those rows.

The slice is drawn (seeded) from the NEW rows, the only ones that say what this business's customers write;
the candidate trains on the base rows (the data the current model learned from, when available) plus the
rest of the new rows. Both models are scored on the same slice with the same metric (macro-F1), and the
report carries both scores whether or not the candidate was installed. Installation replaces the model
directory atomically (written beside it, then renamed), so a running process never reads a half-written model.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nlp.errors import TrainingDataError
from nlp.training import LabelledText, Lang, TrainingConfig, evaluate, load_model, save_model, split_holdout, train

MIN_NEW_ROWS = 10


@dataclass(frozen=True)
class RetrainReport:
    lang: Lang
    n_new: int
    n_heldout: int
    current_macro_f1: float
    candidate_macro_f1: float
    installed: bool
    model_dir: Path

    def to_json(self) -> dict[str, object]:
        return {"lang": self.lang, "n_new": self.n_new, "n_heldout": self.n_heldout,
                "current_macro_f1": round(self.current_macro_f1, 4),
                "candidate_macro_f1": round(self.candidate_macro_f1, 4), "installed": self.installed,
                "model_dir": str(self.model_dir)}


def retrain(current_dir: Path, new_rows: Sequence[LabelledText], *, lang: Lang, install_dir: Path,
            base_rows: Sequence[LabelledText] = (), seed: int = 0, heldout: float = 0.2,
            hash_length: int | None = None, epochs: int | None = None) -> RetrainReport:
    """Train a candidate, compare it with the model in `current_dir`, install it in `install_dir` if not worse."""
    if len(new_rows) < MIN_NEW_ROWS:
        raise TrainingDataError(f"{len(new_rows)} new labelled rows; need at least {MIN_NEW_ROWS} to compare models")
    current = load_model(current_dir)
    new_train, held = split_holdout(new_rows, heldout, seed)
    if not held:
        raise TrainingDataError("no held-out rows left to compare the models on")
    rows = [*base_rows, *new_train]
    labels = {r.label for r in rows}
    overrides: dict[str, object] = {"seed": seed}
    if hash_length is not None:
        overrides["hash_length"] = hash_length
    if epochs is not None:
        overrides["epochs"] = epochs
    config = TrainingConfig.for_task(lang, len(labels), **overrides)
    candidate = train(rows, config)
    current_score = evaluate(current, held).macro_f1
    candidate_score = evaluate(candidate.nlp, held).macro_f1
    installed = candidate_score >= current_score
    if installed:
        staging = install_dir.with_name(install_dir.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        save_model(candidate, staging, kind=f"{lang}_category", sources=["retrain: corrections and base rows"])
        previous = install_dir.with_name(install_dir.name + ".previous")
        shutil.rmtree(previous, ignore_errors=True)
        if install_dir.exists():
            install_dir.rename(previous)
        staging.rename(install_dir)
    return RetrainReport(lang, len(new_rows), len(held), current_score, candidate_score, installed, install_dir)
