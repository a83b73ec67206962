"""`plaint keys rotate` killed half way resumes, and ends with every value readable under the new key alone."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator

from bot.config import Settings
from bot.privacy.keys import install_data_keyring, load_data_keyring
from storage.crypto import Keyring, install_keyring
from storage.database import open_database
from storage.evidence import LocalEvidenceStore
from storage.key_rotation import key_usage
from storage.models import Case, ChannelIdentity, Customer, KeyRotation, TranscriptMessage

CASES = 12
PHOTO = b"\xff\xd8\xff\xe0" + os.urandom(200_000)  # several encryption frames


def _environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "PLAINT_DATABASE_URL": settings.effective_database_url,
        "PLAINT_DATA_DIR": str(settings.data_dir),
    }


async def _plaint(settings: Settings, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=_environment(settings),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 10_000):
        yield data[start : start + 10_000]


async def _complaints(settings: Settings) -> str:
    store = LocalEvidenceStore(settings.evidence_dir)
    blob = await store.put(_chunks(PHOTO), max_bytes=10**7)
    for index in range(CASES):
        customer = await Customer.create(display_name=f"Customer {index}")
        identity = await ChannelIdentity.create(customer=customer, channel="web", sender_id=f"s{index}")
        await Case.create(
            number=f"PL-ROT{index:03d}", status="new", customer=customer, channel="web", sender_id=f"s{index}",
            lang="en", name=f"Name {index}", phone=f"+4420794600{index:02d}", email=f"p{index}@example.com",
            description=f"描述 {index} 🙂", extra={"order": f"A-{index}"},
        )
        await TranscriptMessage.create(identity=identity, direction="in", author="customer", text=f"text {index}")
    return blob.storage_key


async def test_rotation_killed_half_way_resumes_and_every_value_reads_under_the_new_key(
    settings: Settings,
) -> None:
    first = install_data_keyring(settings).current.key_id  # in the key file under the data directory
    async with open_database(settings.effective_database_url):
        storage_key = await _complaints(settings)

        added = await _plaint(settings, "keys", "add", "k2")
        out, err = await added.communicate()
        assert added.returncode == 0, err.decode()
        assert "current data key is now k2" in out.decode()

        # Rotate one row per batch, slowly, and kill the process (SIGKILL: no clean-up) once it has started.
        rotation = await _plaint(settings, "keys", "rotate", "--batch-size", "1", "--pause", "0.3")
        for _ in range(600):
            if await KeyRotation.filter(key_id="k2", last_id__gt=2).exists():
                break
            await asyncio.sleep(0.05)
        rotation.send_signal(signal.SIGKILL)
        await rotation.wait()
        halfway = await key_usage(LocalEvidenceStore(settings.evidence_dir))
        everywhere = sum(halfway.values(), start=type(next(iter(halfway.values())))())
        assert everywhere[first] > 0 and everywhere["k2"] > 0, halfway

        resumed = await _plaint(settings, "keys", "rotate", "--batch-size", "5")
        out, err = await resumed.communicate()
        assert resumed.returncode == 0, err.decode()
        assert "every stored value is encrypted under k2" in out.decode()

        # Only k2 is needed from now on: read everything with a keyring that holds nothing else.
        k2 = load_data_keyring(settings).keys[0]
        assert k2.key_id == "k2"
        install_keyring(Keyring([k2]))
        usage = await key_usage(LocalEvidenceStore(settings.evidence_dir))
        assert {key for counts in usage.values() for key in counts} == {"k2"}
        cases = await Case.all().order_by("number")
        assert [case.name for case in cases] == [f"Name {index}" for index in range(CASES)]
        assert [case.description for case in cases] == [f"描述 {index} 🙂" for index in range(CASES)]
        assert [case.extra for case in cases] == [{"order": f"A-{index}"} for index in range(CASES)]
        assert sorted(row.text for row in await TranscriptMessage.all()) == sorted(
            f"text {index}" for index in range(CASES)
        )
        read_back = b"".join([chunk async for chunk in LocalEvidenceStore(settings.evidence_dir).read(storage_key)])
        assert read_back == PHOTO
