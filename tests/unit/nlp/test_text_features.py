"""The hashed n-gram features and the sparse linear layer against plain dense arithmetic."""

from __future__ import annotations

from typing import cast

import numpy as np
import spacy
from thinc.types import Floats2d

from nlp.text_features import (
    TEXT_KEY,
    ChineseCharTokenizer,
    LazyAdam,
    bucket_of,
    build_hashed_ngram_textcat,
    char_ngram_keys,
    doc_features,
    doc_text,
    ensemble_features,
    fit_naive_bayes,
    hashed_linear,
    heads_of,
    is_naive_bayes,
    normalize_text,
    output_layer_of,
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


def test_the_ensemble_featurises_each_group_once_and_gives_each_head_its_own_features() -> None:
    make = spacy.blank("en").make_doc
    chinese = ChineseCharTokenizer(spacy.blank("zh").vocab)  # keeps the text on the doc (TEXT_KEY)
    docs = [make(t) for t in ("my card never arrived", "", "what exchange rate do you use " * 60)]
    docs += [chinese(t) for t in ("屏幕坏了 screen broken", "热水器漏水" * 300)]
    model = build_hashed_ngram_textcat(length=2**12, views="combined,word,char,nb", nO=2)
    model.initialize()
    featurizers = [head.layers[0] for head in heads_of(model)]
    for shared, featurizer in zip(ensemble_features(featurizers, docs), featurizers, strict=True):
        alone = featurizer.predict(docs)
        assert all(np.array_equal(a, b) for a, b in zip(shared, alone, strict=True))


def test_sparse_layer_matches_dense_arithmetic_and_learns() -> None:
    layer = hashed_linear(3, 64)
    layer.initialize()
    rng = np.random.default_rng(0)
    layer.set_param("W", cast(Floats2d, rng.normal(size=(64, 3)).astype("f")))
    keys = np.array([1, 2, 3, 4, 4], dtype=np.uint64)
    values = np.array([0.5, 1.0, -1.0, 2.0, 1.0], dtype="f")
    lengths = np.array([2, 0, 3], dtype=np.int32)  # an empty document in the middle
    first, backprop = layer.begin_update((keys, values, lengths))
    weights = np.asarray(layer.get_param("W"))
    rows = bucket_of(keys, 64)
    expected = np.stack([values[:2] @ weights[rows[:2]], np.zeros(3), values[2:] @ weights[rows[2:]]])
    assert np.allclose(np.asarray(first), expected, atol=1e-5)
    assert np.allclose(np.asarray(layer.predict((keys, values, lengths))), expected, atol=1e-5)  # the fast path
    target = np.array([0, 1, 2])
    optimizer = LazyAdam(0.1)
    for _ in range(50):
        scores, backprop = layer.begin_update((keys, values, lengths))
        logits = np.asarray(scores)
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        backprop(cast(Floats2d, (probs - np.eye(3, dtype="f")[target]).astype("f")))
        optimizer.update(layer)
    final = np.asarray(layer.predict((keys, values, lengths)))
    assert final.argmax(axis=1).tolist() == [0, 1, 2]
    trained, _ = layer.begin_update((keys, values, lengths))
    assert np.allclose(final, np.asarray(trained), atol=1e-5)  # with the learnt bias too


def test_naive_bayes_head_counts_complements_and_the_ensemble_averages_its_heads() -> None:
    make = spacy.blank("en").make_doc
    train_docs = [make(t) for t in ("my card never arrived", "card still not delivered",
                                    "what exchange rate do you use", "euro exchange rate is bad")]
    truths = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype="f")
    model = build_hashed_ngram_textcat(length=2**12, views="combined,nb", nO=2)
    model.initialize()
    combined, naive_bayes = heads_of(model)
    assert not is_naive_bayes(combined) and is_naive_bayes(naive_bayes)
    fit_naive_bayes(naive_bayes, train_docs, truths, alpha=0.3, temperature=0.3)
    table = np.asarray(output_layer_of(naive_bayes).get_param("W"))
    touched = np.zeros(table.shape[0], dtype=bool)
    for doc in train_docs:
        keys, _ = doc_features(doc, word_ngrams=2, char_min=2, char_max=5, char_weight=1.0)
        touched[bucket_of(keys, table.shape[0])] = True
    assert not table[~touched].any()  # unseen features carry no evidence
    assert (table[touched] > 0).all()  # -log of a share < 1
    # "card" occurs only in class 0, so it is rarer among class 1's complement (= class 0's texts).
    card = bucket_of(char_ngram_keys(" card ", 5, 5)[:1], table.shape[0])[0]
    assert table[card, 0] > table[card, 1]
    probe = [make("my card has not arrived"), make("bad exchange rate for euro")]
    nb_probs = np.asarray(naive_bayes.predict(probe))
    assert nb_probs.argmax(axis=1).tolist() == [0, 1]
    # The combined head is untrained (all-zero weights: uniform), so the mean is (uniform + nb) / 2.
    assert np.allclose(np.asarray(model.predict(probe)), (nb_probs + 0.5) / 2.0, atol=1e-6)


def test_the_chinese_char_tokenizer_gives_spacys_char_segmentation_and_the_text_back() -> None:
    reference = spacy.blank("zh")  # spaCy's own "char" segmenter (quadratic alignment)
    ours = ChineseCharTokenizer(reference.vocab)
    for text in ["买的热水器用了一周就漏水", "  a  b\n\nc ", " 你 好\t世界  ", "", " ", "a \nb", "x\u3000y 。",
                 "屏幕坏了 screen broken!! 退款 " * 80, "a", "ab c", "屏幕坏了 screen broken!! 退款", "x\u3000y"]:
        expected = [(t.text, t.whitespace_) for t in reference(text)]
        doc = ours(text)
        assert [(t.text, t.whitespace_) for t in doc] == expected
        assert doc_text(doc) == doc.text == text == doc.user_data[TEXT_KEY]
