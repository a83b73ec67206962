"""A person with cases on two channels (the same phone number) asks for their data, then for its erasure:
the ZIP holds everything, afterwards nothing of theirs is readable in the database or the evidence directory,
another customer is untouched, and the totals a dashboard counts are unchanged."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import zipfile
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

from tortoise import Tortoise

from bot.config import Settings
from bot.privacy.keys import install_data_keyring
from storage.crypto import lookup_hash
from storage.database import APP_LABEL, open_database
from storage.evidence import LocalEvidenceStore
from storage.models import Case, CaseEvent, ChannelIdentity, Conversation, Customer, Evidence, TranscriptMessage
from tests.integration.privacy.raw_database import raw_dump

PHONE = "+86 138 0013 8000"
NAME = "李雷"
EMAIL = "lilei@example.com"
WORDS = "我的洗衣机漏水了，楼下邻居家也被淹了"
PHOTO = b"\xff\xd8\xff\xe0" + b"leaking washing machine " * 5000
OTHER_NAME = "Grace Hopper"


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 8192):
        yield data[start : start + 8192]


async def _person(store: LocalEvidenceStore, channel: str, sender_id: str, number: str, name: str, phone: str,
                  email: str | None, words: str, photo: bytes, lang: str) -> None:
    customer = await Customer.create(display_name=name, lang=lang)
    identity = await ChannelIdentity.create(customer=customer, channel=channel, sender_id=sender_id)
    conversation = await Conversation.create(
        identity=identity, flow_id="complaint", flow_version=1, step_id="done", status="completed", lang=lang,
        state={"answers": {"name": name, "phone": phone}},
    )
    case = await Case.create(
        number=number, status="new", customer=customer, conversation=conversation, channel=channel,
        sender_id=sender_id, lang=lang, name=name, phone=phone, email=email, description=words,
        product="washing machine", category="product_quality",
        phone_hash=lookup_hash("phone", phone), email_hash=lookup_hash("email", email),
    )
    await TranscriptMessage.create(identity=identity, conversation=conversation, case=case, direction="in",
                                   author="customer", text=words)
    blob = await store.put(_chunks(photo), max_bytes=10**7)
    await Evidence.create(case=case, conversation=conversation, file_name=f"{name}.jpg", media_type="image/jpeg",
                          size=blob.size, sha256=blob.sha256, storage_key=blob.storage_key)
    await CaseEvent.create(case=case, kind="filed", actor="customer", data={"channel": channel})


# Everything the commands printed or logged (stdout and stderr, DEBUG level), scanned at the end.
LOGGED: list[str] = []


async def _plaint(settings: Settings, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        env={**os.environ, "PLAINT_DATABASE_URL": settings.effective_database_url,
             "PLAINT_DATA_DIR": str(settings.data_dir), "PLAINT_LOG_LEVEL": "DEBUG"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    LOGGED.extend((out.decode(), err.decode()))
    return process.returncode, out.decode(), err.decode()


async def _readable_everything() -> str:
    """Every row of every table as the application reads it (decrypted)."""
    values = []
    for model in Tortoise.apps[APP_LABEL].values():
        for row in await model.all():
            values.extend(str(getattr(row, name)) for name in model._meta.fields_db_projection)
    return "\n".join(values)


async def _totals() -> Counter[tuple[str, str, str | None]]:
    return Counter((case.status, case.channel, case.category) for case in await Case.all())


async def test_export_then_erase_a_person_with_cases_on_two_channels(settings: Settings, tmp_path: Path) -> None:
    install_data_keyring(settings)
    store = LocalEvidenceStore(settings.evidence_dir)
    async with open_database(settings.effective_database_url):
        await _person(store, "web", "session-1", "PL-AAA222", NAME, PHONE, EMAIL, WORDS, PHOTO, "zh")
        await _person(store, "telegram", "777001", "PL-AAA333", NAME, "138-0013-8000".join(["+86 ", ""]), None,
                      "第二次投诉：维修师傅没有来", PHOTO + b"second", "zh")
        await _person(store, "web", "session-2", "PL-BBB444", OTHER_NAME, "+1 202 555 0100", "grace@example.com",
                      "Broken kettle", b"%PDF-1.4 other", "en")
        totals = await _totals()

        code, out, err = await _plaint(settings, "privacy", "export", "--phone", PHONE, "--out",
                                       str(tmp_path / "export.zip"))
        assert code == 0, err
        with zipfile.ZipFile(tmp_path / "export.zip") as archive:
            data = json.loads(archive.read("data.json"))
            assert [case["number"] for case in data["cases"]] == ["PL-AAA222", "PL-AAA333"]
            assert {case["channel"] for case in data["cases"]} == {"web", "telegram"}
            assert data["cases"][0]["name"] == NAME and data["cases"][0]["email"] == EMAIL
            assert [message["text"] for message in data["cases"][0]["messages"]] == [WORDS]
            assert "我们保存的您的数据" in archive.read("summary.txt").decode()
            files = sorted(name for name in archive.namelist() if name.startswith("evidence/"))
            assert len(files) == 2
            assert archive.read(files[0]) == PHOTO and archive.read(files[1]) == PHOTO + b"second"
            assert OTHER_NAME not in archive.read("data.json").decode()

        code, out, err = await _plaint(settings, "privacy", "erase", "--phone", PHONE, "--yes", "--actor", "dpo")
        assert code == 0, err
        assert "2 cases anonymised" in out

        readable = await _readable_everything()
        stored = "\n".join(await raw_dump())
        # Digit runs of the phone long enough not to occur by chance in a stored timestamp.
        for value in (NAME, "138 0013", "0013 8000", "13800138000", EMAIL, WORDS, "维修师傅", "session-1", "777001"):
            assert value not in readable, value
            assert value not in stored, value
        assert OTHER_NAME in readable  # the other customer is untouched
        remaining = [path for path in settings.evidence_dir.rglob("*") if path.is_file()]
        assert len(remaining) == 1  # only the other customer's file
        assert await _totals() == totals  # the statistics still add up
        erased = await Case.get(number="PL-AAA222")
        assert (erased.status, erased.product, erased.category) == ("new", "washing machine", "product_quality")
        kinds = [event.kind for event in await CaseEvent.filter(case=erased).order_by("id")]
        assert kinds == ["filed", "personal_data_exported", "personal_data_erased"]

        code, out, err = await _plaint(settings, "privacy", "export", "--phone", PHONE, "--out",
                                       str(tmp_path / "again.zip"))
        assert code != 0 and "no stored data" in err

        code, out, err = await _plaint(settings, "privacy", "erase", "--customer", "web:session-2", "--hard", "--yes")
        assert code == 0, err
        assert await Case.filter(number="PL-BBB444").count() == 0
        assert [path for path in settings.evidence_dir.rglob("*") if path.is_file()] == []

        code, out, err = await _plaint(settings, "privacy", "export", "--phone", PHONE, "--email", EMAIL,
                                       "--out", str(tmp_path / "x.zip"))
        assert code != 0 and "exactly one" in err

        # Nor in what the commands logged: the person is named by the query only, never echoed back.
        logged = "\n".join(LOGGED)
        assert "2 cases anonymised" in logged
        for value in (NAME, "0013 8000", EMAIL, WORDS, "维修师傅", "session-1", "777001"):
            assert value not in logged, value
