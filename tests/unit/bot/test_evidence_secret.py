"""Workers started together without PLAINT_EVIDENCE_SECRET must agree on the key kept in the data directory:
one that read another's half-written file would sign sessions and links with an empty or different key."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from bot.evidence_links import evidence_secret

STARTERS = 4
ROUNDS = 30


def _start(data_dir: str, barrier: multiprocessing.synchronize.Barrier) -> bytes:
    barrier.wait()
    return evidence_secret("", Path(data_dir))


def test_workers_starting_together_share_one_whole_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    with context.Manager() as manager, context.Pool(STARTERS) as pool:
        for round_number in range(ROUNDS):
            data_dir = tmp_path / f"round-{round_number}"
            barrier = manager.Barrier(STARTERS)
            keys = pool.starmap(_start, [(str(data_dir), barrier)] * STARTERS)
            assert len(set(keys)) == 1, f"round {round_number}: {keys}"
            assert len(keys[0]) == 64
            assert (data_dir / "evidence-link.key").stat().st_mode & 0o777 == 0o600
            assert sorted(p.name for p in data_dir.iterdir()) == ["evidence-link.key"]


def test_a_configured_secret_wins_and_writes_nothing(tmp_path: Path) -> None:
    assert evidence_secret("configured-secret", tmp_path / "data") == b"configured-secret"
    assert not (tmp_path / "data").exists()
