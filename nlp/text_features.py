"""Hashed word + character n-gram features for spaCy text classifiers.

spaCy's own bag-of-words model hashes token n-grams only and trains its softmax with a squared-error
gradient. On complaint text (short, typo-ridden tweets; unsegmented Chinese reviews) character n-grams
carry most of the signal, so this module registers a thinc architecture, `plaint.HashedNgramTextCat.v1`,
that feeds word 1..k-grams *and* character n-grams (sublinear counts, L2-normalised per group, like the
TF-IDF baseline) into thinc's `SparseLinear`, followed by a softmax whose backward pass treats the
incoming gradient as d(loss)/d(logits) -- i.e. proper cross-entropy when the loss is `p - y`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray
from spacy.attrs import IS_SPACE, LOWER
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, SparseLinear_v2, chain, with_cpu
from thinc.types import Floats2d

# 64-bit FNV prime: with wrap-around uint64 arithmetic it gives a cheap, deterministic polynomial hash
# (Python's str hash is salted per process, which would make trained weights useless after a restart).
_PRIME = np.uint64(0x100000001B3)
_WORD_SALTS = tuple(np.uint64(s) for s in (0, 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9))
_CHAR_SALTS = tuple(np.uint64((0xD6E8FEB86659FD93 * (n + 7)) & 0xFFFFFFFFFFFFFFFF) for n in range(12))

FeatureBatch = tuple[NDArray[np.uint64], NDArray[np.float32], NDArray[np.int32]]

# Long inputs are cut before featurising: the first few thousand characters decide the class, and
# the cap keeps a 100 KB paste from costing more than a few milliseconds.
MAX_FEATURE_CHARS = 4000


def normalize_text(text: str) -> str:
    """NFKC (full-width -> half-width, compatibility forms) and collapsed whitespace."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _sublinear_l2(keys: NDArray[np.uint64], weight: float) -> tuple[NDArray[np.uint64], NDArray[np.float32]]:
    if keys.shape[0] == 0:
        return keys, np.zeros(0, dtype=np.float32)
    unique, counts = np.unique(keys, return_counts=True)
    values = 1.0 + np.log(counts.astype(np.float32))
    values *= weight / float(np.sqrt(np.dot(values, values)))
    return unique, values.astype(np.float32)


def char_ngram_keys(text: str, n_min: int, n_max: int) -> NDArray[np.uint64]:
    """Hash keys of every character n-gram (n_min..n_max) of `text`, vectorised with numpy."""
    codepoints = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    size = codepoints.shape[0]
    parts: list[NDArray[np.uint64]] = []
    rolling = np.zeros(size, dtype=np.uint64)
    for n in range(1, n_max + 1):
        if size < n:
            break
        # window i of length n = (window i of length n-1) * P + char[i+n-1]
        rolling = rolling[: size - n + 1] * _PRIME + codepoints[n - 1 :]
        if n >= n_min:
            parts.append(rolling ^ _CHAR_SALTS[n])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def word_ngram_keys(doc: Doc, n_max: int) -> NDArray[np.uint64]:
    """Hash keys of lower-cased token 1..n_max-grams, whitespace tokens skipped."""
    attrs = doc.to_array([LOWER, IS_SPACE])
    if attrs.shape[0] == 0:
        return np.zeros(0, dtype=np.uint64)
    lowers = attrs[attrs[:, 1] == 0, 0].astype(np.uint64)
    parts: list[NDArray[np.uint64]] = []
    rolling = np.zeros(lowers.shape[0], dtype=np.uint64)
    for n in range(1, n_max + 1):
        if lowers.shape[0] < n:
            break
        rolling = rolling[: lowers.shape[0] - n + 1] * _PRIME + lowers[n - 1 :]
        parts.append(rolling ^ _WORD_SALTS[n])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def doc_features(doc: Doc, word_ngrams: int, char_min: int, char_max: int,
                 char_weight: float) -> tuple[NDArray[np.uint64], NDArray[np.float32]]:
    """Keys and values of one document: word group and char group, each L2-normalised."""
    text = doc.text[:MAX_FEATURE_CHARS].lower()
    word_keys, word_values = _sublinear_l2(word_ngram_keys(doc[: MAX_FEATURE_CHARS // 2], word_ngrams), 1.0)
    char_keys, char_values = _sublinear_l2(char_ngram_keys(f" {text} ", char_min, char_max), char_weight)
    return np.concatenate([word_keys, char_keys]), np.concatenate([word_values, char_values])


def _featurizer_forward(model: Model[list[Doc], FeatureBatch], docs: Sequence[Doc],
                        is_train: bool) -> tuple[FeatureBatch, Callable[[FeatureBatch], list[Doc]]]:
    word_ngrams = int(model.attrs["word_ngrams"])
    char_min = int(model.attrs["char_min"])
    char_max = int(model.attrs["char_max"])
    char_weight = float(model.attrs["char_weight"])
    drop = float(model.attrs["dropout_rate"]) if is_train else 0.0
    all_keys: list[NDArray[np.uint64]] = []
    all_values: list[NDArray[np.float32]] = []
    lengths = np.zeros(len(docs), dtype=np.int32)
    cache_key = f"plaint_ngrams_{word_ngrams}_{char_min}_{char_max}_{char_weight}"
    for i, doc in enumerate(docs):
        # Training revisits the same docs every epoch: featurise each once and keep it on the doc.
        cached = doc.user_data.get(cache_key) if is_train else None
        if cached is None:
            keys, values = doc_features(doc, word_ngrams, char_min, char_max, char_weight)
            if is_train:
                doc.user_data[cache_key] = (keys, values)
        else:
            keys, values = cached
        if drop > 0.0 and keys.shape[0] > 0:
            # Feature dropout: a cheap regulariser for a linear model over many rare n-grams.
            # np.random is seeded by thinc's fix_random_seed, so training stays deterministic.
            keep = np.random.random(keys.shape[0]) >= drop
            keys, values = keys[keep], values[keep] / (1.0 - drop)
        all_keys.append(keys)
        all_values.append(values.astype(np.float32))
        lengths[i] = keys.shape[0]
    batch: FeatureBatch = (
        np.concatenate(all_keys) if all_keys else np.zeros(0, dtype=np.uint64),
        np.concatenate(all_values) if all_values else np.zeros(0, dtype=np.float32),
        lengths,
    )
    return batch, lambda d_batch: []


def hashed_ngram_featurizer(word_ngrams: int, char_min: int, char_max: int,
                            char_weight: float) -> Model[list[Doc], FeatureBatch]:
    return Model(
        "hashed_ngram_featurizer",
        _featurizer_forward,
        attrs={"word_ngrams": word_ngrams, "char_min": char_min, "char_max": char_max,
               "char_weight": char_weight, "dropout_rate": 0.0},
    )


def _softmax_ce_forward(model: Model[Floats2d, Floats2d], logits: Floats2d,
                        is_train: bool) -> tuple[Floats2d, Callable[[Floats2d], Floats2d]]:
    probs = model.ops.softmax(logits)
    # The textcat loss hands back `probs - truth`, which is exactly d(cross-entropy)/d(logits):
    # pass it through instead of multiplying by the softmax Jacobian (that would be squared error).
    return probs, lambda d_probs: d_probs


def softmax_cross_entropy_output() -> Model[Floats2d, Floats2d]:
    return Model("softmax_ce", _softmax_ce_forward)


def _textcat_forward(model: Model[list[Doc], Floats2d], docs: list[Doc],
                     is_train: bool) -> tuple[Floats2d, Callable[[Floats2d], list[Doc]]]:
    inner: Model[list[Doc], Floats2d] = model.layers[0]
    return inner(docs, is_train)


def _textcat_init(model: Model[list[Doc], Floats2d], X: list[Doc] | None = None,
                  Y: Floats2d | None = None) -> None:
    # The label count is only known when the component is initialised with examples.
    linear = model.get_ref("output_layer")
    if Y is not None:
        model.set_dim("nO", Y.shape[1], force=True)
    if model.has_dim("nO"):
        linear.set_dim("nO", model.get_dim("nO"), force=True)
    linear.initialize()


@registry.architectures("plaint.HashedNgramTextCat.v1")
def build_hashed_ngram_textcat(
    length: int = 2**17,
    word_ngrams: int = 2,
    char_min: int = 2,
    char_max: int = 5,
    char_weight: float = 1.0,
    nO: int | None = None,
) -> Model[list[Doc], Floats2d]:
    """Linear softmax classifier over hashed word and char n-grams (exclusive classes)."""
    length = 2 ** (length - 1).bit_length()
    linear: Model[FeatureBatch, Floats2d] = SparseLinear_v2(nO=nO, length=length)
    featurizer = hashed_ngram_featurizer(word_ngrams, char_min, char_max, char_weight)
    inner: Model[list[Doc], Floats2d] = chain(with_cpu(chain(featurizer, linear), linear.ops),
                                             softmax_cross_entropy_output())
    model: Model[list[Doc], Floats2d] = Model(
        "plaint_hashed_ngram_textcat", _textcat_forward, init=_textcat_init, layers=[inner],
        refs={"output_layer": linear}, dims={"nO": nO}, attrs={"multi_label": False},
    )
    return model
