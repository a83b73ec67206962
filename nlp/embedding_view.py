"""The optional embedding view of the category model: one more head, on a dense document vector.

A business that has a static sentence-embedding table (a model2vec-style directory: `tokenizer.json` for the
HF `tokenizers` library and `model.safetensors` with an `embeddings` matrix, one row per token id; optional
`weights` / `mapping` arrays as model2vec writes them) can train its category model with
`TrainingConfig.embeddings = DIR` (`plaint nlp train --embeddings DIR`). The architecture
`plaint.HashedNgramEmbedTextCat.v1` is the n-gram ensemble of `plaint.HashedNgramTextCat.v1` plus a head that
reads the mean of the table's token vectors over the first EMBED_CHARS characters (L2-normalised) through a linear
softmax layer (the hashed linear layer in its dense mode); its probabilities are mixed into the ensemble's with
weight `embed_weight`. Words the training data never showed but whose vectors lie near those it did (synonyms)
then still count, which n-grams cannot give.

The pipeline keeps only the directory's path and a fingerprint of its files (in the component's model config);
the table itself is read from that directory when the pipeline is loaded, once per process, and never fetched
from anywhere: a missing or different directory is an `EmbeddingsError` saying so. `tokenizers` and
`safetensors` (the `embeddings` extra) are imported only here, and only when such a model is built: `import nlp`
and the default models never need them.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import regex
from numpy.typing import NDArray
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, chain
from thinc.types import Floats2d

from nlp.errors import EmbeddingsError
from nlp.text_features import (
    FeatureBatch,
    build_hashed_ngram_textcat,
    hashed_linear,
    heads_of,
    mix_textcat,
    output_layer_of,
    raw_text,
    softmax_cross_entropy_output,
)

TOKENIZER_FILE = "tokenizer.json"
TABLE_FILE = "model.safetensors"
# Only the start of a text is embedded: it says what the complaint is about, and tokenising costs per character.
EMBED_CHARS = 500
# Share of the embedding head in the mixed probabilities (the n-gram heads' mean gets the rest).
DEFAULT_EMBED_WEIGHT = 0.35
EXTRA_HINT = "pip install 'plaint[embeddings]' (tokenizers, safetensors)"

Vector = NDArray[np.float32]


# BertPreTokenizer's split: runs of anything but whitespace and punctuation (ASCII punctuation and Unicode P*), and
# each punctuation character alone.
_PUNCTUATION = r"!-/:-@\[-`{-~\p{P}"
_BERT_WORDS = regex.compile(rf"[^\s{_PUNCTUATION}]+|[{_PUNCTUATION}]")
_MAX_MEMO_WORDS = 200_000


class MemoisedWordPieces:
    """The tokenizer's own normaliser, BERT's pre-tokenisation as a regular expression and each distinct word's
    pieces asked of the tokenizer's model once and remembered: the same ids as `encode` (checked on the banking77,
    airline and shopping_zh texts; only a literal special token such as "[CLS]" typed in a text differs) at about
    two thirds of its cost, most of which was building the encoding's offsets."""

    def __init__(self, tokenizer: Any) -> None:
        self._normalizer = tokenizer.normalizer
        self._model = tokenizer.model
        self._pieces: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def applies_to(tokenizer: Any) -> bool:
        return (type(tokenizer.pre_tokenizer).__name__ == "BertPreTokenizer" and tokenizer.normalizer is not None
                and type(tokenizer.model).__name__ == "WordPiece")

    def ids(self, text: str) -> list[int]:
        out: list[int] = []
        pieces = self._pieces
        for word in _BERT_WORDS.findall(self._normalizer.normalize_str(text)):
            found = pieces.get(word)
            if found is None:
                found = [token.id for token in self._model.tokenize(word)]
                with self._lock:
                    if len(pieces) >= _MAX_MEMO_WORDS:
                        pieces.clear()
                    pieces[word] = found
            out.extend(found)
        return out


@dataclass(frozen=True, eq=False)
class StaticEmbeddings:
    """A static token-embedding table and its tokenizer: text -> mean of its tokens' vectors, L2-normalised."""

    path: Path
    fingerprint: str
    table: NDArray[np.float32]  # (vocabulary, dim), row = token id
    tokenizer: Any  # tokenizers.Tokenizer (typed loosely: the extra may be absent when this module is type-checked)
    unknown_id: int | None
    words: MemoisedWordPieces | None = None  # a faster path for BERT WordPiece tokenizers, else None (encode)

    @property
    def dim(self) -> int:
        return int(self.table.shape[1])

    def token_ids(self, text: str) -> list[int]:
        text = text[:EMBED_CHARS]
        ids: list[int]
        if self.words is not None:
            ids = self.words.ids(text)
        else:
            # One text at a time: encode_batch runs its own thread pool, which doubled wall time on a loaded machine.
            ids = self.tokenizer.encode(text, add_special_tokens=False).ids
        size = self.table.shape[0]
        return [i for i in ids if i != self.unknown_id and i < size]

    def doc_vector(self, text: str) -> Vector:
        ids = self.token_ids(text)
        if not ids:
            return np.zeros(self.dim, dtype=np.float32)
        vector: Vector = self.table[ids].mean(axis=0, dtype=np.float32)
        norm = float(np.sqrt(np.dot(vector, vector)))
        return vector / np.float32(norm) if norm > 0.0 else vector


_LOCK = threading.Lock()
_LOADED: dict[tuple[str, str], StaticEmbeddings] = {}


def embeddings_fingerprint(directory: str | Path) -> str:
    """sha256 over the tokenizer and the table files (what the model's predictions depend on)."""
    path = Path(directory)
    _check_directory(path)
    digest = hashlib.sha256()
    for name in (TOKENIZER_FILE, TABLE_FILE):
        digest.update(name.encode() + b"\0")
        with (path / name).open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def _check_directory(path: Path) -> None:
    if not path.is_dir():
        raise EmbeddingsError("embedding directory not found: the model's embedding view reads its static table "
                              f"from there ({TOKENIZER_FILE} + {TABLE_FILE}); restore it at this path or retrain "
                              "without --embeddings", path=path)
    missing = [name for name in (TOKENIZER_FILE, TABLE_FILE) if not (path / name).is_file()]
    if missing:
        raise EmbeddingsError(f"not a static embedding directory (missing {', '.join(missing)})", path=path)


def load_static_embeddings(directory: str | Path, expected_fingerprint: str | None = None) -> StaticEmbeddings:
    """The table in `directory` (read once per process); `expected_fingerprint` (what a trained model recorded)
    must match the files there now."""
    path = Path(directory).resolve()
    fingerprint = embeddings_fingerprint(path)
    if expected_fingerprint and fingerprint != expected_fingerprint:
        raise EmbeddingsError(f"the embedding table here is not the one the model was trained with (sha256 "
                              f"{fingerprint[:12]}..., the model expects {expected_fingerprint[:12]}...); restore "
                              "that table or retrain the model with this one", path=path)
    with _LOCK:
        loaded = _LOADED.get((str(path), fingerprint))
        if loaded is None:
            loaded = _LOADED[str(path), fingerprint] = _read(path, fingerprint)
    return loaded


def _read(path: Path, fingerprint: str) -> StaticEmbeddings:
    try:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise EmbeddingsError(f"the embedding view needs the optional `embeddings` extra: {EXTRA_HINT}",
                              path=path) from exc
    try:
        tokenizer = Tokenizer.from_file(str(path / TOKENIZER_FILE))
        arrays = load_file(str(path / TABLE_FILE))
    except Exception as exc:  # both libraries raise their own (Rust) exception types
        raise EmbeddingsError(f"cannot read the embedding table: {exc}", path=path) from exc
    if "embeddings" not in arrays or arrays["embeddings"].ndim != 2:
        raise EmbeddingsError(f"{TABLE_FILE} has no 2-D 'embeddings' array (keys: {sorted(arrays)})", path=path)
    # float16 tables are fine on disk, but thinc would keep float16 all the way into the saved weights.
    table = np.asarray(arrays["embeddings"], dtype=np.float32)
    if "mapping" in arrays:  # model2vec's vocabulary quantisation: token id -> row
        table = table[np.asarray(arrays["mapping"], dtype=np.int64)]
    if "weights" in arrays:  # model2vec's per-token weights
        table = table * np.asarray(arrays["weights"], dtype=np.float32)[:, None]
    tokenizer.no_padding()
    tokenizer.no_truncation()
    unknown = getattr(tokenizer.model, "unk_token", None)
    unknown_id = tokenizer.token_to_id(unknown) if isinstance(unknown, str) else None
    words = MemoisedWordPieces(tokenizer) if MemoisedWordPieces.applies_to(tokenizer) else None
    return StaticEmbeddings(path, fingerprint, np.ascontiguousarray(table, dtype=np.float32), tokenizer, unknown_id,
                            words)


def embedding_featurizer(table: StaticEmbeddings) -> Model[list[Doc], FeatureBatch]:
    """Docs -> the dense FeatureBatch of their vectors (keys 0..dim-1 per doc), for the dense linear layer."""
    cache_key = f"plaint_embedding_{table.fingerprint[:16]}"

    def forward(model: Model[list[Doc], FeatureBatch], docs: Sequence[Doc],
                is_train: bool) -> tuple[FeatureBatch, Callable[[FeatureBatch], list[Doc]]]:
        vectors = np.empty((len(docs), table.dim), dtype=np.float32)
        for i, doc in enumerate(docs):
            # Training revisits the same docs every epoch: embed each once and keep the vector on the doc.
            vector = doc.user_data.get(cache_key) if is_train else None
            if vector is None:
                vector = table.doc_vector(raw_text(doc))
                if is_train:
                    doc.user_data[cache_key] = vector
            vectors[i] = vector
        drop = float(model.attrs["dropout_rate"]) if is_train else 0.0
        if drop > 0.0:
            vectors *= (np.random.random(vectors.shape) >= drop) / (1.0 - drop)
        keys = np.tile(np.arange(table.dim, dtype=np.uint64), len(docs))
        lengths = np.full(len(docs), table.dim, dtype=np.int32)
        return (keys, vectors.reshape(-1), lengths), lambda d_batch: []

    return Model("static_embedding_featurizer", forward,
                 attrs={"embeddings": str(table.path), "fingerprint": table.fingerprint, "dropout_rate": 0.0})


def _embedding_head(table: StaticEmbeddings, nO: int | None) -> Model[list[Doc], Floats2d]:
    linear = hashed_linear(nO, table.dim, dense=True)
    head: Model[list[Doc], Floats2d] = chain(embedding_featurizer(table), linear, softmax_cross_entropy_output())
    head.set_ref("output_layer", linear)
    head.attrs["naive_bayes"] = False
    head.attrs["dense_view"] = True
    return head


@registry.architectures("plaint.HashedNgramEmbedTextCat.v1")  # type: ignore[untyped-decorator]
def build_hashed_ngram_embed_textcat(
    embeddings: str,
    embeddings_sha256: str = "",
    embed_weight: float = DEFAULT_EMBED_WEIGHT,
    length: int = 2**17,
    word_ngrams: int = 2,
    char_min: int = 2,
    char_max: int = 5,
    char_weight: float = 1.0,
    views: str = "combined",
    nO: int | None = None,
) -> Model[list[Doc], Floats2d]:
    """`plaint.HashedNgramTextCat.v1`'s heads plus one on the static embedding table in `embeddings` (a directory,
    checked against `embeddings_sha256` when given); probabilities: (1 - w) * n-gram mean + w * embedding head."""
    # 0 is what training chooses when the view only adds noise on the held-out scores (the view is kept, so a
    # retrain with more data can weigh it again).
    if not 0.0 <= embed_weight < 1.0:
        raise ValueError(f"embed_weight must be at least 0 and below 1, got {embed_weight}")
    table = load_static_embeddings(embeddings, embeddings_sha256 or None)
    ngram = build_hashed_ngram_textcat(length, word_ngrams, char_min, char_max, char_weight, views, nO)
    heads = [*heads_of(ngram), _embedding_head(table, nO)]
    return mix_textcat("plaint_hashed_ngram_embed_textcat", heads, nO, views,
                       refs={"output_layer": output_layer_of(heads[0])}, embed_weight=embed_weight)


def embedding_settings(model_config: dict[str, Any]) -> tuple[str, float] | None:
    """(directory, embed_weight) of a component model config that uses the view, else None."""
    if model_config.get("@architectures") != "plaint.HashedNgramEmbedTextCat.v1":
        return None
    return str(model_config["embeddings"]), float(model_config.get("embed_weight", DEFAULT_EMBED_WEIGHT))

