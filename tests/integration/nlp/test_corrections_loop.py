"""The learning loop: agents' corrections in the database -> export -> retrain -> a different prediction."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

from click.testing import CliRunner, Result

from bot.cli import main
from bot.config import Settings
from storage.database import open_database
from storage.models import NlpCorrection

FIXTURES = Path(__file__).parents[2] / "unit" / "nlp" / "fixtures"
TEXT = "I think someone took my card out of my bag"


def plaint(settings: Settings, *arguments: str) -> Result:
    env = {"PLAINT_DATABASE_URL": settings.effective_database_url, "PLAINT_DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(main, list(arguments), env=env)


async def test_corrections_from_the_desk_retrain_the_model(settings: Settings, tmp_path: Path) -> None:
    async with open_database(settings.effective_database_url):
        # What the Slack desk's Reclassify stores (an earlier correction of the same text is superseded).
        await NlpCorrection.create(field="category", text=TEXT, lang="en", old_value="lost_or_stolen_card",
                                   new_value="card_swallowed", actor="U1")
        await NlpCorrection.create(field="category", text=TEXT, lang="en", old_value="card_swallowed",
                                   new_value="card_arrival", actor="U2")
        await NlpCorrection.create(field="category", text="我的卡丢了", lang="zh", new_value="card_arrival", actor="U1")
        await NlpCorrection.create(field="product", text=TEXT, lang="en", new_value="bank_card", actor="U1")

    exported = tmp_path / "corrections.csv"
    result = await asyncio.to_thread(
        plaint, settings, "nlp", "export-corrections", "--field", "category", "--lang", "en", "--out", str(exported)
    )
    assert result.exit_code == 0, result.output
    with exported.open(encoding="utf-8", newline="") as handle:
        assert list(csv.DictReader(handle)) == [{"text": TEXT, "label": "card_arrival", "lang": "en"}]

    fast = ["--hash-length", "16384", "--epochs", "8", "--seed", "1", "--lang", "en"]
    train = FIXTURES / "banking_small_train.csv"
    before_dir, after_dir = tmp_path / "before", tmp_path / "after"
    for out, extra in ((before_dir, []), (after_dir, ["--from-corrections", str(exported)])):
        trained = await asyncio.to_thread(
            plaint, settings, "nlp", "train", "--data", str(train), "--out", str(out), *fast, *extra
        )
        assert trained.exit_code == 0, trained.output

    def category(model: Path) -> str:
        analyzed = plaint(settings, "nlp", "analyze", "--model", str(model), TEXT)
        assert analyzed.exit_code == 0, analyzed.output
        return str(json.loads(analyzed.stdout)["category"])

    assert await asyncio.to_thread(category, before_dir) == "lost_or_stolen_card"
    assert await asyncio.to_thread(category, after_dir) == "card_arrival"
