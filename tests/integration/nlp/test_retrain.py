"""`plaint nlp retrain`: agents' corrections -> candidate -> compared with the current model -> installed
only when not worse; the report carries both scores."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner, Result

from bot.cli import main
from bot.config import Settings
from nlp import Analyzer
from nlp.retraining import retrain
from nlp.training import TrainingConfig, load_labelled_csv, save_model, train
from storage.database import open_database
from storage.models import NlpCorrection

FIXTURES = Path(__file__).parents[2] / "unit" / "nlp" / "fixtures"
WARRANTY = ["my warranty claim for the {} was rejected", "you refuse to honour the guarantee on my {}",
            "the {} is still under warranty but you want me to pay", "warranty repair of the {} took two months"]
DELIVERY = ["the {} never arrived", "the courier lost my {}", "my {} was delivered to the wrong address",
            "the {} arrived three weeks late"]
ITEMS = ["kettle", "blender", "fridge", "tv", "laptop"]


def plaint(settings: Settings, *arguments: str) -> Result:
    env = {"PLAINT_DATABASE_URL": settings.effective_database_url, "PLAINT_DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(main, list(arguments), env=env)


async def test_retrain_installs_a_better_model_from_corrections(settings: Settings) -> None:
    async with open_database(settings.effective_database_url):
        # This business files warranty disputes as their own category: agents keep correcting the model.
        for item in ITEMS:
            for text in WARRANTY:
                await NlpCorrection.create(field="category", text=text.format(item), lang="en",
                                           old_value="product_quality", new_value="warranty_claim", actor="U1")
            for text in DELIVERY:
                await NlpCorrection.create(field="category", text=text.format(item), lang="en",
                                           new_value="delivery_logistics", actor="U1")
        await NlpCorrection.create(field="category", text="我的保修被拒了", lang="zh", new_value="warranty_claim",
                                   actor="U1")
    result = await asyncio.to_thread(plaint, settings, "nlp", "retrain", "--lang", "en")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n_new"] == 40 and report["n_heldout"] == 8 and report["installed"] is True
    assert report["candidate_macro_f1"] >= report["current_macro_f1"]
    installed = settings.data_dir / "models"
    analyzer = Analyzer.load_default(installed_models_dir=installed)
    assert analyzer.analyze("the warranty on my microwave was refused").category == "warranty_claim"
    # Chinese is untouched: no Chinese model was installed, the shipped one still answers.
    assert not (installed / "zh_category").exists()
    too_few = await asyncio.to_thread(plaint, settings, "nlp", "retrain", "--lang", "zh")
    assert too_few.exit_code != 0 and "need at least 10" in too_few.output


def test_a_worse_candidate_is_not_installed(tmp_path: Path) -> None:
    rows = load_labelled_csv(FIXTURES / "banking_small_train.csv", "text", "label")
    config = TrainingConfig.for_task("en", len({r.label for r in rows}), seed=1, holdout=0.0, hash_length=16384,
                                     epochs=8)
    current_dir = tmp_path / "current"
    save_model(train(rows, config), current_dir)
    # Twelve new rows, half held out: a candidate that learns from six (one pass) cannot match the current model.
    new = load_labelled_csv(FIXTURES / "banking_small_test.csv", "text", "label")[:12]
    install_dir = tmp_path / "installed" / "en_category"
    report = retrain(current_dir, new, lang="en", install_dir=install_dir, seed=3, heldout=0.5, hash_length=16384,
                     epochs=1)
    assert report.n_heldout >= 5 and report.candidate_macro_f1 < report.current_macro_f1
    assert report.installed is False and not install_dir.exists()
    assert set(report.to_json()) >= {"current_macro_f1", "candidate_macro_f1", "installed"}
