"""The optional embedding view (nlp/embedding_view.py) on a tiny static table built here: a WordPiece
`tokenizer.json` made with the `tokenizers` library and a `model.safetensors` whose words of each class point in
that class's direction. Synonyms seen only at test time share their class's direction but no character n-gram
with anything trained on: the n-gram model cannot place them, the view can."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nlp.cli import nlp_cli
from nlp.embedding_view import load_static_embeddings
from nlp.errors import EmbeddingsError
from nlp.retraining import retrain
from nlp.text_features import hashed_linear
from nlp.training import (
    COMPONENT,
    LabelledText,
    TrainingConfig,
    TrainingResult,
    embedding_view_of,
    evaluate,
    load_model,
    predict_proba,
    save_model,
    train,
)

ROOT = Path(__file__).parents[3]
DIM = 16
# Training words use only the letters a-m; the test-time synonyms only n-z: no character n-gram in common.
CLASS_WORDS = {
    "billing": ["badge", "jamb", "clam"],
    "delivery": ["helm", "fjeld", "gleam"],
    "quality": ["decal", "makid", "bilk"],
}
SYNONYMS = {"billing": ["purty", "snowy"], "delivery": ["vrotz", "quorn"], "quality": ["stuxy", "wynop"]}
FILLER = ["a", "beam", "he", "mile", "dig", "cab"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
FAST = {"hash_length": 2**14, "epochs": 20, "learn_rate": 0.05, "holdout": 0.0}


def make_table(directory: Path, seed: int = 0) -> Path:
    """A model2vec-style directory: tokenizer.json (WordPiece, whole words) + model.safetensors (float16)."""
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    words = [*SPECIAL, *FILLER, *(w for ws in CLASS_WORDS.values() for w in ws),
             *(w for ws in SYNONYMS.values() for w in ws)]
    vocab = {word: i for i, word in enumerate(words)}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(directory / "tokenizer.json"))
    rng = np.random.default_rng(seed)
    table = rng.normal(0.0, 0.05, size=(len(words), DIM))
    for c, label in enumerate(sorted(CLASS_WORDS)):
        for word in [*CLASS_WORDS[label], *SYNONYMS[label]]:
            table[vocab[word], c] += 1.0  # every word of a class points along that class's axis
    for word in FILLER:
        table[vocab[word], 3 + rng.integers(0, DIM - 3)] += 1.0  # filler: off the class axes
    save_file({"embeddings": table.astype(np.float16)}, str(directory / "model.safetensors"))
    (directory / "config.json").write_text(json.dumps({"model_type": "model2vec", "hidden_dim": DIM}))
    return directory


def training_rows(seed: int = 0, per_class: int = 30) -> list[LabelledText]:
    rng = random.Random(seed)
    rows = []
    for label, words in CLASS_WORDS.items():
        for _ in range(per_class):
            text = [*rng.sample(words, rng.randint(1, 2)), *rng.sample(FILLER, rng.randint(1, 2))]
            rng.shuffle(text)
            rows.append(LabelledText(" ".join(text), label))
    return rows


def synonym_rows() -> list[LabelledText]:
    return [LabelledText(text, label) for label, (one, two) in SYNONYMS.items()
            for text in (one, two, f"{one} {two}", f"{two.upper()} {one}")]


@pytest.fixture(scope="module")
def table_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_table(tmp_path_factory.mktemp("embeddings") / "static")


@pytest.fixture(scope="module")
def with_view(table_dir: Path) -> TrainingResult:
    return train(training_rows(), TrainingConfig(lang="en", embeddings=str(table_dir), **FAST))


def test_the_view_places_synonyms_the_ngram_model_cannot(with_view: TrainingResult) -> None:
    test = synonym_rows()
    plain = train(training_rows(), TrainingConfig(lang="en", **FAST))
    assert evaluate(with_view.nlp, training_rows(seed=1)).accuracy == 1.0  # it still learns the trained words
    assert evaluate(with_view.nlp, test).accuracy == 1.0
    # Without the view the synonyms are unseen features: one class for all of them (chance is 1/3).
    assert evaluate(plain.nlp, test).accuracy < 0.5


def test_the_view_is_the_component_architecture_and_its_config_names_the_table(
    with_view: TrainingResult, table_dir: Path,
) -> None:
    model_config = with_view.nlp.config["components"][COMPONENT]["model"]
    assert model_config["@architectures"] == "plaint.HashedNgramEmbedTextCat.v1"
    assert model_config["embeddings"] == str(table_dir.resolve())
    assert model_config["embeddings_sha256"] == load_static_embeddings(table_dir).fingerprint
    assert embedding_view_of(with_view.nlp) == (str(table_dir.resolve()), 0.35)
    plain = train(training_rows(per_class=5), TrainingConfig(lang="en", **{**FAST, "epochs": 1}))
    assert embedding_view_of(plain.nlp) is None


def test_save_and_load_keep_predictions_and_store_no_table(with_view: TrainingResult, tmp_path: Path) -> None:
    out = tmp_path / "model"
    save_model(with_view, out)
    loaded = load_model(out)
    labels = list(with_view.labels)
    rows = [*synonym_rows(), *training_rows(seed=2, per_class=3)]
    before, after = predict_proba(with_view.nlp, rows, labels)[0], predict_proba(loaded, rows, labels)[0]
    assert np.allclose(before, after, atol=1e-6)
    assert evaluate(loaded, synonym_rows()).accuracy == 1.0
    saved = [p.name for p in out.rglob("*") if p.is_file()]
    assert "model.safetensors" not in saved and "tokenizer.json" not in saved
    # The weights are float32 although the table is float16 on disk.
    head = loaded.get_pipe(COMPONENT).model.layers[-1]
    assert head.get_ref("output_layer").get_param("W").dtype == np.float32


def test_a_missing_or_different_table_is_a_clear_error(table_dir: Path, tmp_path: Path) -> None:
    own = make_table(tmp_path / "table")
    result = train(training_rows(per_class=10), TrainingConfig(lang="en", embeddings=str(own), **FAST))
    save_model(result, tmp_path / "model")
    moved = own.rename(tmp_path / "elsewhere")
    with pytest.raises(EmbeddingsError, match="embedding directory not found") as missing:
        load_model(tmp_path / "model")
    assert str(own.resolve()) in str(missing.value)
    shutil.rmtree(moved)
    make_table(own, seed=1)  # same layout, other vectors
    with pytest.raises(EmbeddingsError, match="not the one the model was trained with"):
        load_model(tmp_path / "model")
    (own / "model.safetensors").unlink()
    with pytest.raises(EmbeddingsError, match=r"missing model\.safetensors"):
        train(training_rows(per_class=10), TrainingConfig(lang="en", embeddings=str(own), **FAST))


def test_without_the_extra_a_model_with_the_view_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh = make_table(tmp_path / "fresh")  # a path no earlier test loaded (the table is cached per process)
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    with pytest.raises(EmbeddingsError, match=r"plaint\[embeddings\]"):
        load_static_embeddings(fresh)


def test_the_default_models_and_import_nlp_never_import_the_extra() -> None:
    code = ("import sys, nlp, nlp.training, nlp.textcat, nlp.embedding_view\n"
            "from nlp import Analyzer\n"
            "Analyzer.load_default().analyze('The kettle I bought leaks')\n"
            "loaded = sorted(m for m in ('tokenizers', 'safetensors', 'huggingface_hub') if m in sys.modules)\n"
            "assert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_retrain_keeps_the_view_of_the_current_model(
    table_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    current = train(training_rows(per_class=10), TrainingConfig(lang="en", embeddings=str(table_dir),
                                                                embed_weight=0.4, **FAST))
    save_model(current, tmp_path / "current")
    import nlp.retraining as retraining

    configs: list[TrainingConfig] = []

    def spy(rows: list[LabelledText], config: TrainingConfig) -> TrainingResult:
        configs.append(config)
        return train(rows, config)

    monkeypatch.setattr(retraining, "train", spy)
    report = retrain(tmp_path / "current", training_rows(seed=5, per_class=8), lang="en",
                     install_dir=tmp_path / "installed", base_rows=training_rows(per_class=10))
    # The same table; its weight is chosen again on the candidate's held-out part.
    assert [(c.embeddings, c.embed_weight) for c in configs] == [(str(table_dir.resolve()), None)]
    assert report.embedding_view == str(table_dir.resolve())
    assert report.to_json()["embedding_view"] == str(table_dir.resolve())
    if report.installed:
        installed = embedding_view_of(load_model(tmp_path / "installed"))
        assert installed is not None and installed[0] == str(table_dir.resolve())


def test_plaint_nlp_train_takes_the_embedding_directory(table_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("text,label\n" + "".join(f"{r.text},{r.label}\n" for r in training_rows(per_class=10)))
    out = tmp_path / "model"
    done = CliRunner().invoke(nlp_cli, ["train", "--data", str(data), "--lang", "en", "--out", str(out),
                                        "--holdout", "0", "--epochs", "20", "--embeddings", str(table_dir),
                                        "--embed-weight", "0.5"])
    assert done.exit_code == 0, done.output
    assert embedding_view_of(load_model(out)) == (str(table_dir.resolve()), 0.5)
    missing = CliRunner().invoke(nlp_cli, ["train", "--data", str(data), "--lang", "en", "--out", str(out),
                                           "--embeddings", str(tmp_path / "nowhere")])
    assert missing.exit_code != 0 and "embedding directory not found" in missing.output


def test_the_dense_linear_layer_predicts_what_it_trains_on() -> None:
    layer = hashed_linear(3, 4, dense=True)
    layer.initialize()
    rng = np.random.default_rng(0)
    layer.set_param("W", rng.normal(size=(4, 3)).astype(np.float32))
    vectors = rng.normal(size=(5, 4)).astype(np.float32)
    batch = (np.tile(np.arange(4, dtype=np.uint64), 5), vectors.reshape(-1), np.full(5, 4, dtype=np.int32))
    trained, _ = layer.begin_update(batch)
    predicted = layer.predict(batch)
    assert np.allclose(trained, predicted, atol=1e-5)
    assert np.allclose(predicted, vectors @ layer.get_param("W"), atol=1e-5)


def test_bert_tokenizers_take_the_memoised_path_with_the_ids_encode_gives(tmp_path: Path) -> None:
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    vocab = {word: i for i, word in enumerate([*SPECIAL, "my", "card", "was", "declined", "de", "##cl", "##ined",
                                               "caf", "##e", "naive", "snake", "_", "case", ",", ".", "!", "?", "$",
                                               "5", "中", "文", "'", "s", "it"])}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    directory = tmp_path / "bert"
    directory.mkdir()
    tokenizer.save(str(directory / "tokenizer.json"))
    save_file({"embeddings": np.eye(len(vocab), DIM, dtype=np.float32)}, str(directory / "model.safetensors"))
    table = load_static_embeddings(directory)
    assert table.words is not None
    texts = ["My card WAS declined!", "my  card\twas\ndeclined...", "Café naïve, it's $5?", "snake_case",
             "中文 card", "unknownword card", "DECLINED declined", "", "   "]
    for text in texts:
        assert table.words.ids(text) == table.tokenizer.encode(text, add_special_tokens=False).ids, text
    assert table.token_ids("unknownword card") == [vocab["card"]]  # the unknown piece is left out


def _one_word_rows_and_table(directory: Path, informative: bool) -> list[LabelledText]:
    """Rows of one made-up word each and a table whose words point along their class's axis (`informative`: each
    word in one row only, so on held-out rows the n-gram heads meet only unseen words) or anywhere (each word in
    three rows: the n-gram heads have seen the held-out rows' words)."""
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    rng = np.random.default_rng(3)
    labels = sorted(CLASS_WORDS)
    words = {label: ["".join(rng.choice(list("bcdfghjklmnpqrstvwxz"), 7)) for _ in range(40)] for label in labels}
    vocab = {word: i for i, word in enumerate([*SPECIAL, *(w for ws in words.values() for w in ws)])}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(directory / "tokenizer.json"))
    table = rng.normal(0.0, 0.05, size=(len(vocab), DIM))
    for c, label in enumerate(labels):
        for word in words[label]:
            table[vocab[word], c if informative else rng.integers(0, DIM)] += 1.0
    save_file({"embeddings": table.astype(np.float16)}, str(directory / "model.safetensors"))
    repeats = 1 if informative else 3
    return [LabelledText(word, label) for label in labels for word in words[label]
            for _ in range(repeats)]


@pytest.mark.parametrize("informative", [True, False])
def test_without_a_weight_training_chooses_it_on_the_held_out_scores(tmp_path: Path, informative: bool) -> None:
    rows = _one_word_rows_and_table(tmp_path / "table", informative)
    config = TrainingConfig(lang="en", embeddings=str(tmp_path / "table"), **{**FAST, "holdout": 0.2})
    result = train(rows, config)  # 120 or 360 rows: cross-fitted, out-of-fold scores
    view = embedding_view_of(result.nlp)
    assert view is not None
    plain = train(rows, TrainingConfig(lang="en", **{**FAST, "holdout": 0.2}))
    assert result.heldout is not None and plain.heldout is not None
    if informative:
        # The n-gram heads meet only unseen words on held-out rows; the view places them.
        assert view[1] >= 0.35
        assert result.heldout.macro_f1 > plain.heldout.macro_f1 + 0.3
    else:
        # A view that says nothing next to n-grams that know the words gets no weight (ties go to the smaller
        # weight): the n-gram model's scores.
        assert view[1] == 0.0
        assert result.heldout.macro_f1 == plain.heldout.macro_f1
    save_model(result, tmp_path / "model")
    assert embedding_view_of(load_model(tmp_path / "model")) == view
