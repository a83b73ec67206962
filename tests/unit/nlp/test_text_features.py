"""The hashed n-gram features and the sparse linear layer against plain dense arithmetic."""

from __future__ import annotations

import numpy as np
import spacy

from nlp.text_features import (
    LazyAdam,
    bucket_of,
    char_ngram_keys,
    doc_features,
    hashed_linear,
    normalize_text,
)


def test_char_ngrams_are_counted_per_position_and_stable() -> None:
    keys = char_ngram_keys("abab", 2, 3)
    assert keys.shape == (5,)  # ab ba ab + aba bab
    assert keys[0] == keys[2] and len(set(keys.tolist())) == 4
    # Shipped weights are stored by bucket: the hashing must never change (nor depend on the process).
    assert bucket_of(char_ngram_keys(" ab ", 2, 3), 2**15).tolist() == [21655, 21227, 22541, 20616, 18260]
    assert char_ngram_keys("ab", 2, 2).tolist() == char_ngram_keys("xab", 2, 2)[1:].tolist()


def test_normalize_text_folds_width_and_spacing() -> None:
    assert normalize_text("  ＡＢＣ　１２３\n\tok ") == "ABC 123 ok"


def test_doc_features_are_l2_normalised_per_group() -> None:
    doc = spacy.blank("en").make_doc("the the bag was lost")
    keys, values = doc_features(doc, word_ngrams=2, char_min=2, char_max=5, char_weight=1.0)
    assert keys.shape == values.shape and len(set(keys.tolist())) == keys.shape[0]
    assert np.isclose(float(np.dot(values, values)), 2.0, atol=1e-4)  # word group + char group


def test_sparse_layer_matches_dense_arithmetic_and_learns() -> None:
    layer = hashed_linear(3, 64)
    layer.initialize()
    rng = np.random.default_rng(0)
    layer.set_param("W", rng.normal(size=(64, 3)).astype("f"))
    keys = np.array([1, 2, 3, 4, 4], dtype=np.uint64)
    values = np.array([0.5, 1.0, -1.0, 2.0, 1.0], dtype="f")
    lengths = np.array([2, 0, 3], dtype=np.int32)  # an empty document in the middle
    scores, backprop = layer.begin_update((keys, values, lengths))
    weights = layer.get_param("W")
    rows = bucket_of(keys, 64)
    expected = np.stack([values[:2] @ weights[rows[:2]], np.zeros(3), values[2:] @ weights[rows[2:]]])
    assert np.allclose(scores, expected, atol=1e-5)
    target = np.array([0, 1, 2])
    optimizer = LazyAdam(0.1)
    for _ in range(50):
        scores, backprop = layer.begin_update((keys, values, lengths))
        probs = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        backprop((probs - np.eye(3, dtype="f")[target]).astype("f"))
        optimizer.update(layer)
    final = layer.predict((keys, values, lengths))
    assert final.argmax(axis=1).tolist() == [0, 1, 2]
