"""Train and evaluate Plaint text classifiers from labelled CSV files.

This is the code behind `plaint nlp train` / `plaint nlp eval`, the shipped-model script and the
benchmark, so all of them measure the same thing. A model directory is a plain spaCy pipeline
(`spacy.load`-able once `nlp.textcat` is imported) with Plaint's training record in `meta.json`.
"""

from __future__ import annotations

import csv
import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import spacy
from spacy.language import Language
from spacy.training import Example
from thinc.api import fix_random_seed
from tqdm import tqdm

from nlp.embedding_view import DEFAULT_EMBED_WEIGHT, embedding_settings, embeddings_fingerprint
from nlp.errors import ModelLoadError, TrainingDataError
from nlp.text_features import LazyAdam, classifier_text, heads_of, output_layer_of
from nlp.textcat import PlaintTextCategorizer

Lang = Literal["en", "zh"]
COMPONENT = "plaint_textcat"
MODEL_FORMAT = "plaint-textcat/1"
# An agent's correction is one example among thousands; repeating it lets a retrain actually learn it.
CORRECTION_REPEATS = 3
MANY_LABELS = 30
# Below this many rows the temperature is fitted on out-of-fold predictions (k-fold cross-fitting): a single
# 20 % slice of a few hundred rows is too few and too noisy to fit it on.
CROSS_FIT_BELOW = 3000
CROSS_FIT_FOLDS = 5
# The embedding view's weights tried on held-out scores: 0 when it only adds noise (a few hundred rows).
EMBED_WEIGHTS = (0.0, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8)


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: str
    # Rows of one group (e.g. one template family) stay on one side of every development split: scores of
    # near-copies of training rows measure memory, not new wording. "" = a group of its own.
    group: str = ""


@dataclass(frozen=True)
class TrainingConfig:
    lang: Lang
    seed: int = 0
    holdout: float = 0.2
    epochs: int = 10
    learn_rate: float = 0.002
    dropout: float = 0.1
    batch_size: int = 32
    # weight of class c = (n / (k * n_c)) ** power: 0 = unweighted, 1 = fully balanced.
    class_weight_power: float = 1.0
    hash_length: int = 2**17
    # Fraction of the final epochs whose weights are averaged into the saved model.
    average_last: float = 0.5
    refit_on_all: bool = True
    # One head per feature view, probabilities averaged (nlp.text_features.VIEWS); see for_task.
    views: str = "combined"
    # Folds for fitting the temperature: 1 = one `holdout` slice; None = CROSS_FIT_FOLDS below CROSS_FIT_BELOW rows.
    calibration_folds: int | None = None
    # The optional embedding view (nlp.embedding_view): a local static embedding directory, None = n-grams only.
    embeddings: str | None = None
    # Its share of the mixed probabilities; None = chosen from EMBED_WEIGHTS on the held-out part (or the
    # out-of-fold scores) that the temperature is fitted on, DEFAULT_EMBED_WEIGHT when nothing is held out.
    embed_weight: float | None = None

    def folds_for(self, n_rows: int) -> int:
        if self.calibration_folds is not None:
            return max(1, self.calibration_folds)
        return CROSS_FIT_FOLDS if n_rows < CROSS_FIT_BELOW and self.refit_on_all else 1

    @classmethod
    def for_task(cls, lang: Lang, n_labels: int, **overrides: Any) -> TrainingConfig:
        """Defaults chosen on development splits of the shared training files: many fine-grained
        classes (banking77: 77) need more and larger steps than a handful of broad ones."""
        settings: dict[str, Any] = {"hash_length": cls.hash_length_for(n_labels)}
        if n_labels >= MANY_LABELS:
            settings.update(learn_rate=0.01, dropout=0.2, epochs=15)
            # Dev macro-F1 (mean of two splits), combined head alone -> + char head + naive Bayes head:
            # banking77 0.8947 -> 0.8995 (baseline 0.8937); but airline 0.5229 -> 0.5209 and
            # shopping_zh 0.8474 -> 0.8352, so the few-class tasks keep the single combined head.
            settings.update(views="combined,char,nb")
        settings.update(overrides)
        return cls(lang=lang, **settings)

    @staticmethod
    def hash_length_for(n_labels: int) -> int:
        """Buckets so that the weight table (buckets x labels floats) stays under 16M floats (64 MB)."""
        budget = 2**24 // max(n_labels, 2)
        return int(min(2**17, max(2**14, 2 ** (budget.bit_length() - 1))))

    @property
    def char_range(self) -> tuple[int, int]:
        # Chinese characters are words already; short char n-grams stand in for segmentation.
        return (1, 3) if self.lang == "zh" else (2, 5)

    @property
    def word_ngrams(self) -> int:
        # The Chinese classifier tokenises per character (measured: as accurate as jieba words and
        # twice as fast), so its "words" are characters and char 1-3-grams carry the rest.
        return 1 if self.lang == "zh" else 2


@dataclass(frozen=True)
class LabelScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EvalReport:
    accuracy: float
    macro_f1: float
    n: int
    per_label: dict[str, LabelScores]
    ms_per_doc: float

    def to_json(self) -> dict[str, object]:
        return {
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "n": self.n,
            "ms_per_doc": round(self.ms_per_doc, 4),
            "per_label": {label: {k: (round(v, 4) if isinstance(v, float) else v)
                                  for k, v in asdict(s).items()}
                          for label, s in self.per_label.items()},
        }


@dataclass(frozen=True)
class TrainingResult:
    nlp: Language
    heldout: EvalReport | None
    temperature: float
    n_train: int
    labels: tuple[str, ...] = field(default_factory=tuple)


def load_labelled_csv(path: Path, text_col: str, label_col: str, *, lang: Lang | None = None,
                      allow_one_class: bool = False, group_col: str | None = None) -> list[LabelledText]:
    """Read (text, label) rows; every problem is reported with its line or column.

    If the file has a `lang` column and `lang` is given, rows in another language are skipped (the
    corrections export holds both languages). `group_col` names a column of group ids (see LabelledText.group).
    """
    if not path.is_file():
        raise TrainingDataError("file not found", path=path)
    rows: list[LabelledText] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            for column in (text_col, label_col, *([group_col] if group_col else [])):
                if column not in header:
                    raise TrainingDataError(f"missing column (header has {header})", path=path,
                                            column=column)
            for row in reader:
                line = reader.line_num
                if lang is not None and (row.get("lang") or lang).strip() not in ("", lang):
                    continue
                text = (row.get(text_col) or "").strip()
                label = (row.get(label_col) or "").strip()
                if not label:
                    raise TrainingDataError("empty label", path=path, row=line, column=label_col)
                if not text:
                    raise TrainingDataError("empty text", path=path, row=line, column=text_col)
                group = (row.get(group_col) or "").strip() if group_col else ""
                rows.append(LabelledText(text, label, group))
    except UnicodeDecodeError as exc:
        raise TrainingDataError(f"not UTF-8 ({exc.reason} at byte {exc.start})", path=path) from exc
    except csv.Error as exc:
        raise TrainingDataError(f"malformed CSV: {exc}", path=path) from exc
    if not rows:
        raise TrainingDataError("no rows", path=path)
    if not allow_one_class and len({r.label for r in rows}) < 2:
        raise TrainingDataError(f"only one class ({rows[0].label!r}); need at least two", path=path,
                                column=label_col)
    return rows


def blank_pipeline(lang: Lang) -> Language:
    # Chinese is read per character (the catalog matcher uses jieba instead), by our linear-time copy of spaCy's
    # "char" segmenter (nlp.text_features.ChineseCharTokenizer).
    if lang == "zh":
        return spacy.blank("zh", config={"nlp": {"tokenizer": {"@tokenizers": "plaint.ChineseCharTokenizer.v1"}}})
    return spacy.blank(lang)


def _build_pipeline(config: TrainingConfig) -> Language:
    nlp = blank_pipeline(config.lang)
    char_min, char_max = config.char_range
    model: dict[str, Any] = {
        "@architectures": "plaint.HashedNgramTextCat.v1", "length": config.hash_length,
        "word_ngrams": config.word_ngrams, "char_min": char_min, "char_max": char_max,
        "char_weight": 1.0, "views": config.views, "nO": None}
    if config.embeddings is not None:
        # The pipeline records where the table is and what it was (never the table): loading checks both.
        directory = Path(config.embeddings).resolve()
        model.update({"@architectures": "plaint.HashedNgramEmbedTextCat.v1", "embeddings": str(directory),
                      "embeddings_sha256": embeddings_fingerprint(directory),
                      "embed_weight": DEFAULT_EMBED_WEIGHT if config.embed_weight is None else config.embed_weight})
    nlp.add_pipe(COMPONENT, config={"model": model})
    return nlp


def embedding_view_of(nlp: Language) -> tuple[str, float] | None:
    """(directory, embed_weight) of a trained pipeline's embedding view, None when it has none."""
    model_config = nlp.config["components"][COMPONENT]["model"]
    return embedding_settings(dict(model_config))


def _group_keys(rows: Sequence[LabelledText]) -> list[str]:
    return [r.group or f"\0{i}" for i, r in enumerate(rows)]


def split_holdout(rows: Sequence[LabelledText], fraction: float,
                  seed: int) -> tuple[list[LabelledText], list[LabelledText]]:
    """Seeded split that keeps at least one example of every label on the training side.

    Rows that carry a `group` are split by whole groups (the held-out side then measures unseen groups).
    """
    if any(r.group for r in rows):
        return _split_by_group(rows, fraction, seed)
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    cut = round(len(shuffled) * (1.0 - fraction))
    train, held = shuffled[:cut], shuffled[cut:]
    seen = {r.label for r in train}
    moved = [r for r in held if r.label not in seen and not seen.add(r.label)]  # type: ignore[func-returns-value]
    return train + moved, [r for r in held if r not in moved]


def _split_by_group(rows: Sequence[LabelledText], fraction: float,
                    seed: int) -> tuple[list[LabelledText], list[LabelledText]]:
    if fraction <= 0.0:
        return list(rows), []
    held_index = set(cross_fit_folds(rows, max(2, round(1.0 / fraction)), seed)[-1])
    train = [r for i, r in enumerate(rows) if i not in held_index]
    held = [r for i, r in enumerate(rows) if i in held_index]
    seen = {r.label for r in train}
    moved = [r for r in held if r.label not in seen and not seen.add(r.label)]  # type: ignore[func-returns-value]
    return train + moved, [r for r in held if r not in moved]


def cross_fit_folds(rows: Sequence[LabelledText], folds: int, seed: int) -> list[list[int]]:
    """Row indices of `folds` seeded folds of about equal size; a group's rows all land in one fold."""
    keys = _group_keys(rows)
    members: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        members.setdefault(key, []).append(i)
    order = list(members)
    random.Random(seed).shuffle(order)
    result: list[list[int]] = [[] for _ in range(max(1, folds))]
    for key in order:  # each group into the smallest fold so far (ties: the first)
        min(result, key=len).extend(members[key])
    return [sorted(fold) for fold in result]


def _fit(config: TrainingConfig, rows: Sequence[LabelledText], labels: Sequence[str],
         progress_label: str) -> Language:
    fix_random_seed(config.seed)
    nlp = _build_pipeline(config)
    component = nlp.get_pipe(COMPONENT)
    assert isinstance(component, PlaintTextCategorizer)
    docs = [nlp.make_doc(classifier_text(r.text)) for r in rows]
    examples = []
    for doc, row in zip(docs, rows, strict=True):
        # Doc.copy + Example(): Example.from_dict re-reads every token, which dominated start-up.
        reference = doc.copy()
        reference.cats = {label: float(label == row.label) for label in labels}
        examples.append(Example(doc, reference))
    nlp.initialize(lambda: examples)
    counts = Counter(r.label for r in rows)
    component.set_class_weights({lab: (len(rows) / (len(labels) * counts[lab])) ** config.class_weight_power
                                 if counts[lab] else 1.0 for lab in labels})
    component.fit_naive_bayes_heads(examples)
    optimizer = LazyAdam(config.learn_rate)
    shuffler = random.Random(config.seed)
    layers = [output_layer_of(head) for head in heads_of(component.model)]
    first_averaged = config.epochs - max(1, round(config.epochs * config.average_last))
    totals: dict[tuple[int, str], Any] = {}
    batches_per_epoch = -(-len(examples) // config.batch_size)
    with tqdm(total=config.epochs * batches_per_epoch, desc=progress_label, unit="batch",
              leave=False) as bar:
        for epoch in range(config.epochs):
            shuffler.shuffle(examples)
            losses: dict[str, float] = {}
            for start in range(0, len(examples), config.batch_size):
                batch = examples[start : start + config.batch_size]
                # The component directly, not nlp.update: that copies every Doc of every batch.
                component.update(batch, sgd=optimizer, drop=config.dropout, losses=losses)
                bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{losses.get(COMPONENT, 0.0) / len(examples):.3f}")
            if epoch >= first_averaged:
                for i, layer in enumerate(layers):
                    for name in ("W", "b"):
                        totals[i, name] = totals.get((i, name), 0.0) + layer.get_param(name)
    # Tail averaging: the mean of the last epochs' weights generalises better than the last
    # iterate (the same idea as spaCy's parameter averaging, at epoch granularity).
    n_averaged = config.epochs - first_averaged
    for (i, name), total in totals.items():
        layers[i].set_param(name, total / n_averaged)
    return nlp


def fit_temperature(probs: np.ndarray, gold: np.ndarray) -> float:
    """Temperature minimising held-out negative log-likelihood (grid search, robust and cheap)."""
    logp = np.log(np.clip(probs, 1e-12, 1.0))
    best_t, best_nll = 1.0, float("inf")
    for temperature in np.exp(np.linspace(np.log(0.05), np.log(20.0), 121)):
        z = logp / temperature
        z -= z.max(axis=1, keepdims=True)
        nll = float(-(z[np.arange(len(gold)), gold] - np.log(np.exp(z).sum(axis=1))).mean())
        if nll < best_nll:
            best_t, best_nll = float(temperature), nll
    return best_t


def expected_calibration_error(probs: np.ndarray, gold: np.ndarray, bins: int = 15) -> float:
    """ECE of the top label: over equal-width confidence bins, |accuracy - mean confidence| weighted by share."""
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == gold
    total = 0.0
    for low in np.linspace(0.0, 1.0, bins, endpoint=False):
        inside = (confidence > low) & (confidence <= low + 1.0 / bins)
        if inside.any():
            total += float(inside.mean()) * abs(float(correct[inside].mean()) - float(confidence[inside].mean()))
    return total


def train(rows: Sequence[LabelledText], config: TrainingConfig,
          corrections: Sequence[LabelledText] = ()) -> TrainingResult:
    """Train on `rows` (+ agent corrections), report held-out scores, calibrate, refit on everything.

    The held-out part is never trained on before it is scored; the temperature is fitted on it; then
    (unless `refit_on_all` is off) the model is retrained on all rows with the same settings so no
    labelled data is wasted, and keeps the fitted temperature. Small sets are cross-fitted instead: k models,
    each scoring the fold it did not learn from, and the temperature is fitted on all out-of-fold scores.
    Corrections are always trained on, never held out.
    """
    corrected = [r for r in corrections for _ in range(CORRECTION_REPEATS)]
    labels = sorted({r.label for r in rows} | {r.label for r in corrections})
    if len(labels) < 2:
        raise TrainingDataError("only one class in the training data; need at least two")
    heldout: EvalReport | None = None
    temperature = 1.0
    folds = config.folds_for(len(rows))
    if config.holdout > 0.0 and len(rows) >= 10:
        if folds > 1:
            scores = _cross_fit_scores(rows, corrected, labels, config, folds)
        else:
            train_rows, held_rows = split_holdout(rows, config.holdout, config.seed)
            nlp = _fit(config, [*train_rows, *corrected], labels, "train (held-out run)")
            scores = _held_out_scores(nlp, held_rows, labels)
        config = _with_chosen_embed_weight(config, scores)
        probs = scores.mixed(config.embed_weight)
        temperature = fit_temperature(probs, scores.gold)
        heldout = score_predictions([labels[g] for g in scores.gold], [labels[int(i)] for i in probs.argmax(axis=1)],
                                    scores.ms_per_doc)
        if folds == 1 and not config.refit_on_all:
            _component(nlp).cfg["temperature"] = temperature
            if scores.view is not None and config.embed_weight is not None:
                _set_embed_weight(nlp, config.embed_weight)
            return TrainingResult(nlp, heldout, temperature, len(train_rows) + len(corrected), tuple(labels))
    nlp = _fit(config, [*rows, *corrected], labels, "train")
    _component(nlp).cfg["temperature"] = temperature
    return TrainingResult(nlp, heldout, temperature, len(rows) + len(corrected), tuple(labels))


@dataclass
class _HeldOutScores:
    """Held-out probabilities of the n-gram heads and of the embedding view (None without one), apart, so that
    any mix of them can be scored without refitting."""

    ngram: np.ndarray
    view: np.ndarray | None
    gold: np.ndarray
    ms_per_doc: float

    def mixed(self, embed_weight: float | None) -> np.ndarray:
        if self.view is None or embed_weight is None:
            return self.ngram
        return (1.0 - embed_weight) * self.ngram + embed_weight * self.view


def _held_out_scores(nlp: Language, rows: Sequence[LabelledText], labels: Sequence[str]) -> _HeldOutScores:
    def timed() -> tuple[np.ndarray, np.ndarray, float]:
        start = time.perf_counter()
        probs, gold = predict_proba(nlp, rows, labels)
        return probs, gold, 1000.0 * (time.perf_counter() - start) / max(1, len(rows))

    if embedding_view_of(nlp) is None:
        probs, gold, ms_per_doc = timed()
        return _HeldOutScores(probs, None, gold, ms_per_doc)
    model = _component(nlp).model
    weight = model.attrs["embed_weight"]
    try:
        # The forward pass mixes by the model's weight at call time: 0 gives the n-gram heads alone, 1 the view
        # (every head runs then, as in the mixed model: its time is the model's).
        model.attrs["embed_weight"] = 0.0
        ngram, gold = predict_proba(nlp, rows, labels)
        model.attrs["embed_weight"] = 1.0
        view, _, ms_per_doc = timed()
    finally:
        model.attrs["embed_weight"] = weight
    return _HeldOutScores(ngram, view, gold, ms_per_doc)


def _set_embed_weight(nlp: Language, weight: float) -> None:
    # The model's attribute mixes; the pipe's config is what a saved model is rebuilt from.
    _component(nlp).model.attrs["embed_weight"] = weight
    nlp.get_pipe_config(COMPONENT)["model"]["embed_weight"] = weight


def _with_chosen_embed_weight(config: TrainingConfig, scores: _HeldOutScores) -> TrainingConfig:
    """The config with the embedding view's weight that scores best (macro-F1, then the smaller weight) on the
    held-out scores, when it has a view and no weight was given."""
    if scores.view is None or config.embed_weight is not None:
        return config
    gold = [str(g) for g in scores.gold]

    def macro_f1(weight: float) -> float:
        return score_predictions(gold, [str(i) for i in scores.mixed(weight).argmax(axis=1)]).macro_f1

    best = max(EMBED_WEIGHTS, key=lambda weight: (macro_f1(weight), -weight))
    return replace(config, embed_weight=best)


def _cross_fit_scores(rows: Sequence[LabelledText], corrected: Sequence[LabelledText], labels: list[str],
                      config: TrainingConfig, folds: int) -> _HeldOutScores:
    parts: list[_HeldOutScores] = []
    for k, held_index in enumerate(cross_fit_folds(rows, folds, config.seed)):
        if not held_index:
            continue
        held = set(held_index)
        nlp = _fit(config, [*(r for i, r in enumerate(rows) if i not in held), *corrected], labels,
                   f"cross-fit {k + 1}/{folds}")
        parts.append(_held_out_scores(nlp, [rows[i] for i in held_index], labels))
    views = [p.view for p in parts]
    n = sum(len(p.gold) for p in parts)
    return _HeldOutScores(np.concatenate([p.ngram for p in parts]),
                          None if any(v is None for v in views) else np.concatenate(views),  # type: ignore[arg-type]
                          np.concatenate([p.gold for p in parts]),
                          sum(p.ms_per_doc * len(p.gold) for p in parts) / max(1, n))


def _component(nlp: Language) -> PlaintTextCategorizer:
    component = nlp.get_pipe(COMPONENT)
    assert isinstance(component, PlaintTextCategorizer)
    return component


def predict_proba(nlp: Language, rows: Sequence[LabelledText],
                  labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    component = _component(nlp)
    order = [component.labels.index(lab) for lab in labels]
    docs = list(nlp.pipe(classifier_text(r.text) for r in rows))
    probs = np.array([[doc.cats[component.labels[i]] for i in order] for doc in docs], dtype="f")
    index = {lab: i for i, lab in enumerate(labels)}
    gold = np.array([index.get(r.label, -1) for r in rows])
    keep = gold >= 0
    return probs[keep], gold[keep]


def evaluate(nlp: Language, rows: Sequence[LabelledText]) -> EvalReport:
    """Accuracy, macro-F1 over the gold labels present, per-label scores and prediction speed."""
    if not rows:
        raise TrainingDataError("nothing to evaluate")
    texts = [classifier_text(r.text) for r in rows]
    start = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=256))
    elapsed = time.perf_counter() - start
    predicted = [max(doc.cats, key=doc.cats.__getitem__) if doc.cats else "" for doc in docs]
    return score_predictions([r.label for r in rows], predicted, 1000.0 * elapsed / len(rows))


def score_predictions(gold: Sequence[str], predicted: Sequence[str], ms_per_doc: float = 0.0) -> EvalReport:
    """Accuracy and macro-F1 (mean F1 over the labels present in `gold`) -- used for every model."""
    per_label: dict[str, LabelScores] = {}
    for label in sorted(set(gold) | (set(predicted) - {""})):
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p == label)
        n_pred = sum(1 for p in predicted if p == label)
        n_gold = sum(1 for g in gold if g == label)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = LabelScores(precision, recall, f1, n_gold)
    gold_labels = set(gold)
    macro = sum(s.f1 for lab, s in per_label.items() if lab in gold_labels) / len(gold_labels)
    accuracy = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / len(gold)
    return EvalReport(accuracy, macro, len(gold), per_label, ms_per_doc)


def save_model(result: TrainingResult, out: Path, *, kind: str = "custom",
               sources: Iterable[str] = ()) -> None:
    nlp = result.nlp
    nlp.meta["name"] = f"plaint_{kind}"
    nlp.meta["plaint"] = {
        "format": MODEL_FORMAT,
        "kind": kind,
        "labels": list(result.labels),
        "temperature": result.temperature,
        "n_train": result.n_train,
        "heldout": result.heldout.to_json() if result.heldout else None,
        "sources": list(sources),
    }
    out.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out)


def load_model(path: Path) -> Language:
    """Load a model directory written by `save_model` (raises ModelLoadError with the reason)."""
    if not (path / "meta.json").is_file():
        raise ModelLoadError("not a model directory (no meta.json)", path=path)
    try:
        nlp = spacy.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"cannot load spaCy pipeline: {exc}", path=path) from exc
    if nlp.meta.get("plaint", {}).get("format") != MODEL_FORMAT or COMPONENT not in nlp.pipe_names:
        raise ModelLoadError("not a Plaint text classifier", path=path)
    return nlp


def with_overrides(config: TrainingConfig, **overrides: object) -> TrainingConfig:
    return replace(config, **overrides)  # type: ignore[arg-type]
