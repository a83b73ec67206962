"""`plaint nlp retrain`: agents' corrections and handled cases (their descriptions encrypted at rest) ->
candidate -> compared with the current model on one held-out slice -> installed only when not worse; the report
carries both scores, is stored and shown on the console's NLP page."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

from click.testing import CliRunner, Result
from tortoise import connections

from bot.analysis import ThreadedAnalyzer
from bot.cli import main
from bot.config import Settings
from bot.privacy.keys import install_data_keyring
from nlp import Analyzer
from nlp.retraining import retrain
from nlp.training import LabelledText, TrainingConfig, load_labelled_csv, save_model, split_holdout, train
from storage.database import open_database
from storage.models import Case, Customer, NlpCorrection
from tests.integration.admin.harness import running_console

ROOT = Path(__file__).parents[3]
FIXTURES = ROOT / "tests" / "unit" / "nlp" / "fixtures"
BASE = ROOT / "data" / "en_category_handwritten.csv"  # all six shipped categories, 66 rows
WARRANTY = ["my warranty claim for the {} was rejected", "you refuse to honour the guarantee on my {}",
            "the {} is still under warranty but you want me to pay", "warranty repair of the {} took two months"]
DELIVERY = ["the {} never arrived", "the courier lost my {}", "my {} was delivered to the wrong address",
            "the {} arrived three weeks late"]
ITEMS = ["kettle", "blender", "fridge", "tv", "laptop"]
PROBE = "the warranty on my microwave was refused"


def plaint(settings: Settings, *arguments: str) -> Result:
    env = {"PLAINT_DATABASE_URL": settings.effective_database_url, "PLAINT_DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(main, list(arguments), env=env)


async def _handled_cases(settings: Settings) -> int:
    """This business files warranty disputes as their own category: agents reclassify them and resolve the cases.
    Returns how many cases are labelled examples (the open and the erased ones are not)."""
    customer = await Customer.create(display_name="Customer")
    number = 0

    async def case(description: str, category: str, status: str = "resolved", sender: str = "s1") -> None:
        nonlocal number
        number += 1
        await Case.create(number=f"PL-RT{number:04d}", status=status, customer=customer, channel="web",
                          sender_id=sender, lang="en", description=description, category=category)

    for item in ITEMS:
        for text in WARRANTY[:3]:
            await case(text.format(item), "warranty_claim")
        for text in DELIVERY[:3]:
            await case(text.format(item), "delivery_logistics", status="closed")
    await case("my warranty claim for the phone is still waiting", "warranty_claim", status="new")
    await case("the warranty on my radio was refused", "warranty_claim", sender="erased-7")
    return 30


async def test_retrain_learns_from_cases_and_corrections_and_the_console_shows_the_report(
    settings: Settings, analyzer: ThreadedAnalyzer,
) -> None:
    install_data_keyring(settings)  # the key file the `plaint` command reads the descriptions with
    async with open_database(settings.effective_database_url):
        n_cases = await _handled_cases(settings)
        # Descriptions are encrypted at rest: the retrain reads them through the data keys, not the raw column.
        raw = await connections.get("default").execute_query_dict('SELECT description FROM "case" LIMIT 1'
                                                                 if "mysql" not in settings.effective_database_url
                                                                 else "SELECT description FROM `case` LIMIT 1")
        assert raw[0]["description"].startswith("pl1:")
        for item in ITEMS:
            # An agent's reclassification of a text the model got wrong (the model said product_quality).
            await NlpCorrection.create(field="category", text=WARRANTY[3].format(item), lang="en",
                                       old_value="product_quality", new_value="warranty_claim", actor="U1")
            await NlpCorrection.create(field="category", text=DELIVERY[3].format(item), lang="en",
                                       new_value="delivery_logistics", actor="U1")
        await NlpCorrection.create(field="category", text="我的保修被拒了", lang="zh", new_value="warranty_claim",
                                   actor="U1")
    installed = settings.data_dir / "models"
    before = Analyzer.load_default(installed_models_dir=installed).analyze(PROBE).category
    assert before != "warranty_claim"

    result = await asyncio.to_thread(plaint, settings, "nlp", "retrain", "--lang", "en", "--data", str(BASE))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["n_cases"], report["n_corrections"], report["n_new"]) == (n_cases, 10, 40)
    assert report["n_heldout"] == 8 and report["n_base"] == 66
    assert report["installed"] is True and report["decision"] == "installed"
    assert report["candidate_macro_f1"] > report["current_macro_f1"]
    assert report["changed_predictions"] >= 1 and report["fixed"] >= 1
    # The installed model is a link swapped to a new version; the next analyzer (server start) uses it.
    assert (installed / "en_category").is_symlink()
    after = Analyzer.load_default(installed_models_dir=installed).analyze(PROBE)
    assert after.category == "warranty_claim", after
    # Chinese is untouched: no Chinese model was installed, the shipped one still answers.
    assert not (installed / "zh_category").exists()
    too_few = await asyncio.to_thread(plaint, settings, "nlp", "retrain", "--lang", "zh")
    assert too_few.exit_code != 0 and "need at least 10" in too_few.output

    async with running_console(settings, analyzer) as console:
        anonymous = await console.client.get("/admin/nlp", allow_redirects=False)
        assert anonymous.status == 303 and "/admin/login" in anonymous.headers["Location"]
        await console.login("viewer")
        page = await (await console.client.get("/admin/nlp")).text()
        assert 'id="retrain-en"' in page and "Installed" in page
        assert f"{report['current_macro_f1']:.4f}" in page and f"{report['candidate_macro_f1']:.4f}" in page
        assert "10 corrections, 30 handled cases, 66 base rows" in page
        assert PROBE not in page and WARRANTY[0].format("kettle") not in page  # counts, never customers' texts
        zh = await (await console.client.get("/admin/lang/zh?next=/admin/nlp")).text()
        assert "已安装" in zh and "10 条更正" in zh


def _rotated(label: str, labels: list[str]) -> str:
    return labels[(labels.index(label) + 1) % len(labels)]


def test_a_candidate_trained_on_corrupted_labels_is_not_installed(tmp_path: Path) -> None:
    rows = load_labelled_csv(FIXTURES / "banking_small_train.csv", "text", "label")
    config = TrainingConfig.for_task("en", len({r.label for r in rows}), seed=1, holdout=0.0, hash_length=16384,
                                     epochs=8)
    current_dir = tmp_path / "current"
    save_model(train(rows, config), current_dir)
    # New rows whose labels were corrupted on the side the candidate trains on (every label moved to the next
    # one); the held-out slice, drawn the same way by retrain, keeps the true labels.
    new = load_labelled_csv(FIXTURES / "banking_small_test.csv", "text", "label")
    random.Random(0).shuffle(new)
    training_side, _ = split_holdout(new, 0.2, 3)
    labels = sorted({r.label for r in new})
    corrupted = {r.text for r in training_side}
    cases = [LabelledText(r.text, _rotated(r.label, labels) if r.text in corrupted else r.label) for r in new]
    assert split_holdout(cases, 0.2, 3)[1] == split_holdout(new, 0.2, 3)[1]
    install_dir = tmp_path / "installed" / "en_category"
    report = retrain(current_dir, [], cases, lang="en", install_dir=install_dir, seed=3, hash_length=16384, epochs=8)
    assert report.n_heldout >= 10 and report.candidate_macro_f1 < report.current_macro_f1
    assert report.installed is False and report.decision == "worse" and not install_dir.exists()
    assert report.broken >= 1
    assert set(report.to_json()) >= {"current_macro_f1", "candidate_macro_f1", "installed", "decision"}


def test_a_candidate_that_forgot_categories_is_not_installed(tmp_path: Path) -> None:
    rows = load_labelled_csv(FIXTURES / "banking_small_train.csv", "text", "label")
    config = TrainingConfig.for_task("en", 3, seed=1, holdout=0.0, hash_length=16384, epochs=8)
    current_dir = tmp_path / "current"
    save_model(train(rows, config), current_dir)
    # Corrections about two of the three categories only, and no base rows: the candidate cannot know the third.
    new = [r for r in load_labelled_csv(FIXTURES / "banking_small_test.csv", "text", "label")
           if r.label != "exchange_rate"]
    install_dir = tmp_path / "installed" / "en_category"
    report = retrain(current_dir, new, lang="en", install_dir=install_dir, seed=3, hash_length=16384, epochs=8)
    assert report.decision == "missing_categories" and report.missing_categories == ("exchange_rate",)
    assert not report.installed and not install_dir.exists()
    # With the base rows it knows all three again, and a second install keeps the first as the previous version.
    first = retrain(current_dir, new, lang="en", install_dir=install_dir, base_rows=rows, seed=3,
                    hash_length=16384, epochs=8)
    assert first.installed, first
    second = retrain(install_dir, new, lang="en", install_dir=install_dir, base_rows=rows, seed=3,
                     hash_length=16384, epochs=8)
    assert second.installed, second  # the same rows and seed: equal scores install
    versions = sorted(p.name for p in install_dir.with_name("en_category.versions").iterdir())
    assert len(versions) == 2 and install_dir.resolve().name == versions[-1]
