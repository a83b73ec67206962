"""The `plaint_textcat` spaCy component: single-label textcat trained with weighted cross-entropy
and calibrated by temperature scaling.

It subclasses spaCy's `TextCategorizer`, so `doc.cats`, serialisation and `nlp.update` behave as usual;
two numbers learned at training time live in the component's cfg (saved with the pipeline):
`class_weights` (inverse-frequency weights so rare complaint types count, which is what macro-F1 rewards)
and `temperature` (fitted on held-out data so that confidences mean what they say).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.pipeline.textcat import TextCategorizer
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Config, Model
from thinc.types import Floats2d

from nlp import text_features  # noqa: F401  (registers plaint.HashedNgramTextCat.v1)

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "plaint.HashedNgramTextCat.v1"
length = 131072
word_ngrams = 2
char_min = 2
char_max = 5
char_weight = 1.0
nO = null
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]

def _score_cats(examples: Iterable[Example], **kwargs: Any) -> dict[str, Any]:
    return Scorer.score_cats(examples, "cats", multi_label=False, **kwargs)  # type: ignore[no-any-return]

class PlaintTextCategorizer(TextCategorizer):  # type: ignore[misc]
    def __init__(self, vocab: Any, model: Model[list[Doc], Floats2d], name: str = "plaint_textcat") -> None:
        super().__init__(vocab, model, name, threshold=0.0, scorer=_score_cats)
        self.cfg["class_weights"] = None
        self.cfg["temperature"] = 1.0

    def set_class_weights(self, weights: dict[str, float]) -> None:
        self.cfg["class_weights"] = [float(weights.get(label, 1.0)) for label in self.labels]

    def get_loss(self, examples: Iterable[Example], scores: Floats2d) -> tuple[float, Floats2d]:
        examples = list(examples)
        truths, _ = self._examples_to_truth(examples)
        truths = self.model.ops.asarray(truths)
        d_scores = scores - truths
        weights = self.cfg.get("class_weights")
        row_weights = np.ones(len(examples), dtype="f")
        if weights is not None:
            row_weights = (truths @ np.asarray(weights, dtype="f")).astype("f")
            d_scores *= row_weights[:, None]
        picked = np.clip((scores * truths).sum(axis=1), 1e-9, 1.0)
        loss = float((-np.log(picked) * row_weights).sum())
        return loss, d_scores

    def predict(self, docs: Iterable[Doc]) -> Floats2d:
        docs = list(docs)
        if not any(len(doc) for doc in docs):
            return self.model.ops.alloc2f(len(docs), len(self.labels)) + 1.0 / max(1, len(self.labels))
        probs = self.model.predict(docs)
        return apply_temperature(np.asarray(probs), float(self.cfg.get("temperature", 1.0)))

def apply_temperature(probs: Floats2d, temperature: float) -> Floats2d:
    """Re-scale probabilities as softmax(log(p) / T); T > 1 softens over-confident outputs."""
    if temperature == 1.0:
        return probs
    logits = np.log(np.clip(probs, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return (exp / exp.sum(axis=1, keepdims=True)).astype("f")

@Language.factory("plaint_textcat", default_config={"model": DEFAULT_MODEL})
def make_plaint_textcat(nlp: Language, name: str, model: Model[list[Doc], Floats2d]) -> PlaintTextCategorizer:
    return PlaintTextCategorizer(nlp.vocab, model, name)
