"""`plaint nlp ...`: train, evaluate and try Plaint text classifiers from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import cast

import click

from nlp.analysis import Lang
from nlp.errors import NlpError
from nlp.training import TrainingConfig, evaluate, load_labelled_csv, load_model, save_model, train

_LANGS = click.Choice(["en", "zh"])


def _fail(error: Exception) -> None:
    raise click.ClickException(str(error)) from error


@click.group(name="nlp")
def nlp_cli() -> None:
    """Train, evaluate and try the complaint classifiers."""


@nlp_cli.command("train")
@click.option("--data", "data_path", type=click.Path(path_type=Path), required=True, help="Labelled CSV.")
@click.option("--text-col", default="text", show_default=True)
@click.option("--label-col", default="label", show_default=True)
@click.option("--lang", type=_LANGS, required=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Model directory.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--holdout", default=0.2, show_default=True, type=click.FloatRange(0.0, 0.9),
              help="Fraction scored (and used for calibration) before the final refit on everything; under "
                   "3,000 rows 5-fold cross-fitting instead; 0 = no calibration.")
@click.option("--group-col", default=None,
              help="Column of group ids (e.g. a template family): a group is never split between training and "
                   "the held-out part.")
@click.option("--epochs", default=None, type=click.IntRange(1, 200),
              help="Passes over the data (default: 10, or 15 for 30+ labels).")
@click.option("--hash-length", default=None, type=click.IntRange(1024, 2**20),
              help="Hashed feature buckets per class (model size); default scales with the label count.")
@click.option("--from-corrections", "corrections_path", type=click.Path(path_type=Path), default=None,
              help="CSV of agent corrections (same text/label columns, optional lang) added to training.")
@click.option("--embeddings", "embeddings_dir", type=click.Path(path_type=Path), default=None,
              help="Optional embedding view: a local static embedding directory (model2vec layout: tokenizer.json + "
                   "model.safetensors). The model records its path and checksum and reads it from there when "
                   "loaded; needs the embeddings extra.")
@click.option("--embed-weight", default=None, type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
              help="Share of the embedding view in the mixed probabilities (default: the one of 0, 0.1, 0.2, "
                   "0.35, 0.5, 0.65, 0.8 that scores best on the held-out part; 0.35 with --holdout 0).")
def train_command(data_path: Path, text_col: str, label_col: str, lang: str, out_dir: Path, seed: int,
                  holdout: float, group_col: str | None, epochs: int | None, hash_length: int | None,
                  corrections_path: Path | None, embeddings_dir: Path | None, embed_weight: float | None) -> None:
    """Train a classifier on a labelled CSV and print the held-out scores."""
    language = cast(Lang, lang)
    try:
        rows = load_labelled_csv(data_path, text_col, label_col, group_col=group_col)
        corrections = (load_labelled_csv(corrections_path, text_col, label_col, lang=language,
                                         allow_one_class=True) if corrections_path else [])
        n_labels = len({r.label for r in [*rows, *corrections]})
        overrides: dict[str, object] = {"seed": seed, "holdout": holdout}
        if epochs is not None:
            overrides["epochs"] = epochs
        if hash_length is not None:
            overrides["hash_length"] = hash_length
        if embed_weight is not None and embeddings_dir is None:
            raise click.UsageError("--embed-weight needs --embeddings")
        if embeddings_dir is not None:
            overrides["embeddings"] = str(embeddings_dir)
        if embed_weight is not None:
            overrides["embed_weight"] = embed_weight
        config = TrainingConfig.for_task(language, n_labels, **overrides)
        result = train(rows, config, corrections)
        save_model(result, out_dir, sources=[data_path.name] + ([corrections_path.name] if corrections_path else []))
    except NlpError as error:
        _fail(error)
        return
    click.echo(f"trained on {result.n_train} examples ({len(corrections)} corrections), "
               f"{len(result.labels)} labels -> {out_dir}", err=True)
    if result.heldout is not None:
        click.echo(json.dumps({"heldout": result.heldout.to_json(), "temperature": result.temperature},
                              ensure_ascii=False))


@nlp_cli.command("eval")
@click.option("--model", "model_dir", type=click.Path(path_type=Path), required=True)
@click.option("--data", "data_path", type=click.Path(path_type=Path), required=True)
@click.option("--text-col", default="text", show_default=True)
@click.option("--label-col", default="label", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (default: a short summary).")
def eval_command(model_dir: Path, data_path: Path, text_col: str, label_col: str, as_json: bool) -> None:
    """Score a trained model on a labelled CSV: accuracy, macro-F1, per-label scores, ms/doc."""
    try:
        nlp = load_model(model_dir)
        report = evaluate(nlp, load_labelled_csv(data_path, text_col, label_col, allow_one_class=True))
    except NlpError as error:
        _fail(error)
        return
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
        return
    click.echo(f"n={report.n} accuracy={report.accuracy:.4f} macro_f1={report.macro_f1:.4f} "
               f"ms_per_doc={report.ms_per_doc:.3f}")
    for label, scores in report.per_label.items():
        click.echo(f"  {label:40s} p={scores.precision:.3f} r={scores.recall:.3f} f1={scores.f1:.3f} "
                   f"n={scores.support}")


@nlp_cli.command("analyze")
@click.option("--model", "model_dir", type=click.Path(path_type=Path), default=None,
              help="A category model from `plaint nlp train` (default: the shipped models).")
@click.option("--catalog", "catalog_path", type=click.Path(path_type=Path), default=None)
@click.option("--lang", type=_LANGS, default=None, help="Skip language detection.")
@click.option("--jsonl", "as_jsonl", is_flag=True,
              help="Batch: one text per line on standard input, one JSON document per line out.")
@click.argument("text", required=False)
def analyze_command(model_dir: Path | None, catalog_path: Path | None, lang: str | None, as_jsonl: bool,
                    text: str | None) -> None:
    """Print the analysis of TEXT (or of standard input) as JSON."""
    from nlp.analyzer import DEFAULT_CATALOG_PATH, Analyzer

    if as_jsonl and text is not None:
        raise click.UsageError("--jsonl reads standard input; give no TEXT argument")
    if text is None and not as_jsonl:
        raw = sys.stdin.buffer.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise click.ClickException(f"input is not UTF-8 text (bad byte at offset {error.start})") from error
    if text is not None and any("\udc80" <= ch <= "\udcff" for ch in text):
        # click passes undecodable argv bytes through as surrogate escapes.
        raise click.ClickException("input is not UTF-8 text")
    language = cast(Lang | None, lang)
    try:
        analyzer = (Analyzer.from_model_dir(model_dir, catalog_path or DEFAULT_CATALOG_PATH) if model_dir
                    else Analyzer.load_default(catalog_path))
        if text is not None:
            click.echo(json.dumps(analyzer.analyze(text, language).to_json(), ensure_ascii=False))
            return
    except NlpError as error:
        _fail(error)
        return
    # The models are loaded once above; every line gets exactly one output line, in order, so a caller can
    # zip inputs and outputs. A line that is not UTF-8 gets an error document instead of stopping the batch.
    for number, line in enumerate(sys.stdin.buffer, start=1):
        try:
            decoded = line.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as error:
            click.echo(json.dumps({"error": f"line {number} is not UTF-8 text (bad byte at offset {error.start})"}))
            continue
        click.echo(json.dumps(analyzer.analyze(decoded, language).to_json(), ensure_ascii=False))
