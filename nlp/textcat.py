"""The `plaint_textcat` spaCy component: single-label textcat trained with weighted cross-entropy
and calibrated by temperature scaling.

It subclasses spaCy's `TextCategorizer`, so `doc.cats`, serialisation and `nlp.update` behave as usual;
two numbers learned at training time live in the component's cfg (saved with the pipeline):
`class_weights` (inverse-frequency weights so rare complaint types count, which is what macro-F1 rewards)
and `temperature` (fitted on held-out data so that confidences mean what they say).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from spacy.language import Language
from spacy.pipeline.textcat import TextCategorizer
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Config, Model, set_dropout_rate
from thinc.types import Floats2d

from nlp import embedding_view  # noqa: F401  (registers plaint.HashedNgramEmbedTextCat.v1; imports no extra)
from nlp.text_features import (  # importing also registers plaint.HashedNgramTextCat.v1
    LazyAdam,
    fit_naive_bayes,
    heads_of,
    is_naive_bayes,
    output_layer_of,
)

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "plaint.HashedNgramTextCat.v1"
length = 131072
word_ngrams = 2
char_min = 2
char_max = 5
char_weight = 1.0
views = "combined"
nO = null
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]

def _score_cats(examples: Iterable[Example], **kwargs: Any) -> dict[str, Any]:
    return Scorer.score_cats(examples, "cats", multi_label=False, **kwargs)

class PlaintTextCategorizer(TextCategorizer):
    def __init__(self, vocab: Any, model: Model[list[Doc], Floats2d], name: str = "plaint_textcat") -> None:
        super().__init__(vocab, model, name, threshold=0.0, scorer=_score_cats)
        self.cfg["class_weights"] = None
        self.cfg["temperature"] = 1.0

    def set_class_weights(self, weights: dict[str, float]) -> None:
        self.cfg["class_weights"] = [float(weights.get(label, 1.0)) for label in self.labels]

    def update(self, examples: Iterable[Example], *, drop: float = 0.0, sgd: Any = None,
               losses: dict[str, float] | None = None) -> dict[str, float]:
        """One training step; `sgd` must be a `LazyAdam` (the weight table's gradient is sparse)."""
        if not isinstance(sgd, LazyAdam):
            raise TypeError("plaint_textcat trains with nlp.text_features.LazyAdam")
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        set_dropout_rate(self.model, drop)
        docs = [eg.predicted for eg in examples]
        # Each head learns from its own loss (not the averaged output's): independently trained heads
        # over different feature views disagree more usefully than jointly trained ones.
        for head in heads_of(self.model):
            if is_naive_bayes(head):
                continue  # counted once by fit_naive_bayes_heads, no gradient steps
            scores, backprop = head.begin_update(docs)
            loss, d_scores = self.get_loss(examples, scores)
            backprop(d_scores)
            sgd.update(output_layer_of(head))
            losses[self.name] += loss
        return losses

    def fit_naive_bayes_heads(self, examples: Iterable[Example]) -> None:
        """Count the complement naive Bayes heads' tables (if any) from the training examples."""
        examples = list(examples)
        heads = [head for head in heads_of(self.model) if is_naive_bayes(head)]
        if not heads:
            return
        truth_array, _ = self._examples_to_truth(examples)
        truths = np.asarray(truth_array, dtype="f")
        class_weights = self.cfg.get("class_weights")
        if class_weights is not None:
            # Inverse-frequency weights as for the trained heads: unweighted, naive Bayes drowned the
            # rare airline reasons (dev macro-F1 0.35 instead of 0.52).
            truths = truths * np.asarray(class_weights, dtype="f")
        for head in heads:
            fit_naive_bayes(head, [eg.predicted for eg in examples], truths)

    def get_loss(self, examples: Iterable[Example], scores: Floats2d) -> tuple[float, Floats2d]:  # type: ignore[override]
        """Class-weighted cross-entropy; the gradient w.r.t. the logits is weight * (p - y)."""
        examples = list(examples)
        truth_array, _ = self._examples_to_truth(examples)
        truths = np.asarray(truth_array, dtype="f")
        probs = np.asarray(scores, dtype="f")
        d_scores = probs - truths
        weights = self.cfg.get("class_weights")
        row_weights = np.ones(len(examples), dtype="f")
        if weights is not None:
            row_weights = (truths @ np.asarray(weights, dtype="f")).astype("f")
            d_scores *= row_weights[:, None]
        picked = np.clip((probs * truths).sum(axis=1), 1e-9, 1.0)
        loss = float((-np.log(picked) * row_weights).sum())
        return loss, cast(Floats2d, d_scores)

    def predict(self, docs: Iterable[Doc]) -> Floats2d:
        docs = list(docs)
        n_labels = len(self.labels)
        if not any(len(doc) for doc in docs):
            return cast(Floats2d, np.full((len(docs), n_labels), 1.0 / max(1, n_labels), dtype="f"))
        probs = np.asarray(self.model.predict(docs), dtype="f")
        return cast(Floats2d, apply_temperature(probs, float(self.cfg.get("temperature", 1.0))))


def apply_temperature(probs: NDArray[np.float32], temperature: float) -> NDArray[np.float32]:
    """Re-scale probabilities as softmax(log(p) / T); T > 1 softens over-confident outputs."""
    if temperature == 1.0:
        return probs
    logits = np.log(np.clip(probs, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    normalised: NDArray[np.float32] = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
    return normalised


@Language.factory("plaint_textcat", default_config={"model": DEFAULT_MODEL})
def make_plaint_textcat(nlp: Language, name: str, model: Model[list[Doc], Floats2d]) -> PlaintTextCategorizer:
    return PlaintTextCategorizer(nlp.vocab, model, name)
