"""Development runs for the category model's settings: never the test split.

A shared dataset's training part of the bench's seed-2026 split (bench/nlp.py) is re-split 80/20 with
`--dev-seed` (13 and 7 so far); Plaint (`TrainingConfig.for_task` plus the given overrides) and, with
--baseline, the bench's TF-IDF + LR are fitted on the 80 % and scored on the 20 %: macro-F1, accuracy, and the
CPU ms/doc on long texts (dev texts joined to >= 1,000 characters, best of 3).

    python bench/nlp_dev.py --dataset banking77 --dev-seed 13 [--baseline] [--char-range 2-6] [--word-ngrams 3]
                            '{}' '{"learn_rate": 0.02}' '{"class_weight_power": 0.5}' ...

Each positional argument is one variant: a JSON object of TrainingConfig overrides ('{}' = the defaults).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.append(str(Path(__file__).resolve().parent))  # after the root: bench/nlp.py must not shadow nlp/

import nlp_benchmark as bench

from nlp.training import TrainingConfig, evaluate, load_labelled_csv, split_holdout, train

TEST_SEED = 2026  # the bench's first seed: its training part is the one re-split here


@dataclass(frozen=True)
class DevConfig(TrainingConfig):
    """TrainingConfig whose n-gram ranges (language defaults otherwise) can be overridden for a run."""

    char_override: tuple[int, int] | None = None
    word_override: int | None = None

    @property
    def char_range(self) -> tuple[int, int]:
        return self.char_override or super().char_range

    @property
    def word_ngrams(self) -> int:
        return self.word_override or super().word_ngrams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="banking77", choices=[d.name for d in bench.DATASETS if not d.fixed_split])
    parser.add_argument("--dev-seed", type=int, default=13)
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--char-range", help="e.g. 2-6 (default: the language's)")
    parser.add_argument("--word-ngrams", type=int)
    parser.add_argument("variants", nargs="*", default=["{}"])
    args = parser.parse_args()
    dataset = next(d for d in bench.DATASETS if d.name == args.dataset)
    rows = load_labelled_csv(bench.ROOT_DATA / dataset.file, "text", dataset.label_col)
    train_part, _test_never_read = split_holdout(rows, 0.2, TEST_SEED)
    dev_train, dev = split_holdout(train_part, 0.2, args.dev_seed)
    ranges: dict[str, object] = {}
    if args.char_range:
        low, high = (int(n) for n in args.char_range.split("-"))
        ranges["char_override"] = (low, high)
    if args.word_ngrams:
        ranges["word_override"] = args.word_ngrams
    print(
        f"{dataset.name} dev split (seed-{TEST_SEED} training part re-split with seed {args.dev_seed}): "
        f"{len(dev_train)} / {len(dev)}; n-gram ranges {ranges or 'default'}; "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    if args.baseline:
        base = bench.baseline(dev_train, dev, dataset.lang)
        print(f"baseline macro-F1 {base.macro_f1:.4f} accuracy {base.accuracy:.4f}", flush=True)
    n_labels = len({r.label for r in dev_train})
    for variant in args.variants:
        overrides = json.loads(variant)
        start = time.perf_counter()
        config = DevConfig.for_task(dataset.lang, n_labels, seed=0, holdout=0.0, **ranges, **overrides)
        nlp = train(dev_train, config).nlp
        report = evaluate(nlp, dev)
        long_ms = bench.best_ms_per_doc(bench.plaint_predictor(nlp), bench.long_texts(dev), clock=time.process_time)
        print(
            f"Plaint {json.dumps(overrides)}: macro-F1 {report.macro_f1:.4f} accuracy {report.accuracy:.4f} "
            f"(fit {time.perf_counter() - start:.0f} s, long texts {long_ms:.2f} ms/doc CPU, "
            f"load {os.getloadavg()[0]:.1f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
