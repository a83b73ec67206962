"""Training and evaluating on small real fixtures (banking77 and shopping_zh rows), and bad CSVs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nlp.errors import TrainingDataError
from nlp.training import (
    LabelledText,
    TrainingConfig,
    cross_fit_folds,
    evaluate,
    load_labelled_csv,
    load_model,
    predict_proba,
    save_model,
    split_holdout,
    train,
)

FIXTURES = Path(__file__).parent / "fixtures"
FAST: dict[str, Any] = {"hash_length": 2**14, "epochs": 8}


def test_english_classifier_learns_from_180_rows() -> None:
    rows = load_labelled_csv(FIXTURES / "banking_small_train.csv", "text", "label")
    result = train(rows, TrainingConfig(lang="en", **FAST))
    report = evaluate(result.nlp, load_labelled_csv(FIXTURES / "banking_small_test.csv", "text", "label"))
    assert report.n == 60
    assert report.accuracy >= 0.85 and report.macro_f1 >= 0.85
    assert set(report.per_label) == {"card_arrival", "exchange_rate", "lost_or_stolen_card"}
    # Under 3,000 rows the held-out report is out-of-fold (5-fold cross-fitting): every row scored once, by a
    # model that did not learn from it; the temperature is fitted on those scores.
    assert result.heldout is not None and result.heldout.n == 180
    assert 0.05 <= result.temperature <= 20.0
    single = train(rows, TrainingConfig(lang="en", calibration_folds=1, **FAST))
    assert single.heldout is not None and single.heldout.n == 36


def test_chinese_classifier_learns_from_180_rows() -> None:
    rows = load_labelled_csv(FIXTURES / "shopping_small_train.csv", "review", "product")
    result = train(rows, TrainingConfig(lang="zh", **FAST))
    report = evaluate(result.nlp, load_labelled_csv(FIXTURES / "shopping_small_test.csv", "review", "product"))
    assert report.accuracy >= 0.8 and report.macro_f1 >= 0.8


def test_training_is_deterministic_for_a_seed() -> None:
    rows = load_labelled_csv(FIXTURES / "banking_small_train.csv", "text", "label")[:90]
    probe = [LabelledText("where is my new card?", "card_arrival"),
             LabelledText("what rate do you use for euros", "exchange_rate")]
    labels = sorted({r.label for r in rows})
    first = predict_proba(train(rows, TrainingConfig(lang="en", seed=3, **FAST)).nlp, probe, labels)[0]
    second = predict_proba(train(rows, TrainingConfig(lang="en", seed=3, **FAST)).nlp, probe, labels)[0]
    other = predict_proba(train(rows, TrainingConfig(lang="en", seed=4, **FAST)).nlp, probe, labels)[0]
    assert np.array_equal(first, second)
    assert not np.array_equal(first, other)


def test_saved_model_round_trips(tmp_path: Path) -> None:
    rows = load_labelled_csv(FIXTURES / "banking_small_train.csv", "text", "label")
    result = train(rows, TrainingConfig(lang="en", holdout=0.0, **FAST))
    save_model(result, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    labels = list(result.labels)
    probe = [LabelledText("my card has still not arrived", "card_arrival")]
    assert np.allclose(predict_proba(result.nlp, probe, labels)[0], predict_proba(loaded, probe, labels)[0])
    assert loaded.meta["plaint"]["labels"] == labels


def _write(tmp_path: Path, content: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_missing_column_names_the_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "text,reason\nhello,a\n")
    with pytest.raises(TrainingDataError, match="column 'label'") as info:
        load_labelled_csv(path, "text", "label")
    assert info.value.column == "label"


def test_empty_label_names_the_row(tmp_path: Path) -> None:
    path = _write(tmp_path, "text,label\nfine,a\nbroken,\nok,b\n")
    with pytest.raises(TrainingDataError, match="line 3") as info:
        load_labelled_csv(path, "text", "label")
    assert (info.value.row, info.value.column) == (3, "label")


def test_one_class_only_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "text,label\none,a\ntwo,a\n")
    with pytest.raises(TrainingDataError, match="only one class"):
        load_labelled_csv(path, "text", "label")


def test_non_utf8_csv_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,label\ncaf\xe9,a\n".encode("latin-1"))
    with pytest.raises(TrainingDataError, match="not UTF-8"):
        load_labelled_csv(path, "text", "label")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="file not found"):
        load_labelled_csv(tmp_path / "nope.csv", "text", "label")


def test_many_label_tasks_get_the_three_head_ensemble_and_it_round_trips(tmp_path: Path) -> None:
    assert TrainingConfig.for_task("en", 77).views == "combined,char,nb"
    assert TrainingConfig.for_task("en", 6).views == "combined"
    rows = load_labelled_csv(FIXTURES / "banking_small_train.csv", "text", "label")
    result = train(rows, TrainingConfig(lang="en", holdout=0.0, views="combined,char,nb", **FAST))
    report = evaluate(result.nlp, load_labelled_csv(FIXTURES / "banking_small_test.csv", "text", "label"))
    assert report.accuracy >= 0.85 and report.macro_f1 >= 0.85
    save_model(result, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    labels = list(result.labels)
    probe = [LabelledText("I lost my card yesterday", "lost_or_stolen_card")]
    original = predict_proba(result.nlp, probe, labels)[0]
    assert np.allclose(original, predict_proba(loaded, probe, labels)[0])
    assert labels[int(original.argmax())] == "lost_or_stolen_card"


def _grouped_rows() -> list[LabelledText]:
    rows = [LabelledText(f"family {f} sentence {i}", "a" if f % 2 else "b", f"family-{f}")
            for f in range(12) for i in range(5)]
    return rows + [LabelledText(f"loose sentence {i}", "a" if i % 2 else "b") for i in range(10)]


def test_cross_fitting_folds_cover_every_row_once_and_keep_families_whole() -> None:
    rows = _grouped_rows()
    folds = cross_fit_folds(rows, 5, seed=1)
    assert sorted(i for fold in folds for i in fold) == list(range(len(rows)))
    assert max(map(len, folds)) - min(map(len, folds)) <= 5  # one family of 5 at most between folds
    fold_of = {i: k for k, fold in enumerate(folds) for i in fold}
    for family in {r.group for r in rows if r.group}:
        assert len({fold_of[i] for i, r in enumerate(rows) if r.group == family}) == 1
    assert cross_fit_folds(rows, 5, seed=1) == folds and cross_fit_folds(rows, 5, seed=2) != folds


def test_a_grouped_holdout_never_cuts_a_family() -> None:
    rows = _grouped_rows()
    train_part, held = split_holdout(rows, 0.2, seed=3)
    assert len(train_part) + len(held) == len(rows) and 8 <= len(held) <= 20
    assert {r.group for r in train_part if r.group}.isdisjoint({r.group for r in held if r.group})


def test_groups_are_read_from_a_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "text,label,family\nfirst,a,f1\nsecond,b,f1\nthird,b,\n")
    assert [r.group for r in load_labelled_csv(path, "text", "label", group_col="family")] == ["f1", "f1", ""]
    with pytest.raises(TrainingDataError, match="column 'fam'"):
        load_labelled_csv(path, "text", "label", group_col="fam")
