"""Build nlp/data/english_never_nouns.txt.gz: English words that WordNet knows as verbs, adjectives or adverbs and
never as nouns ("ignore", "announce", "broken"), for the head-of-phrase check (nlp/compound_names.py): a word after
a product's name that can be no noun does not make the name a modifier of another thing ("the washer ignores
delay start").

    pip download spacy-lookups-data==1.0.5 --no-deps -d /tmp/lookups
    python scripts/build_never_nouns.py /tmp/lookups/spacy_lookups_data-1.0.5-py2.py3-none-any.whl

The word lists come from WordNet 3.0 (Princeton University; licence in nlp/data/wordnet-LICENSE.txt), as packaged
in spacy-lookups-data's en_lemma_index table (MIT). Deterministic: the same wheel gives the same file, byte for
byte (sorted words, gzip without a timestamp).
"""

from __future__ import annotations

import argparse
import gzip
import json
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "nlp" / "data" / "english_never_nouns.txt.gz"
INDEX = "spacy_lookups_data/data/en_lemma_index.json.gz"


def never_nouns(index: dict[str, list[str]]) -> list[str]:
    nouns = set(index["noun"])
    others = set(index["verb"]) | set(index["adj"]) | set(index["adv"])
    return sorted(word for word in others - nouns if word.isalpha() and word.islower())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wheel", type=Path, help="spacy-lookups-data's wheel")
    args = parser.parse_args()
    with zipfile.ZipFile(args.wheel) as wheel:
        index = json.loads(gzip.decompress(wheel.read(INDEX)))
    words = never_nouns(index)
    OUT.write_bytes(gzip.compress(("\n".join(words) + "\n").encode(), compresslevel=9, mtime=0))
    print(f"{len(words)} words -> {OUT.relative_to(ROOT)} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
