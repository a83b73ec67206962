"""Retention as an operator uses it: a YAML policy, `plaint privacy retention` (a dry run that changes nothing,
then --apply), and the daily timer a worker fires. What is past its period goes; nothing outside the policy
(recent rows, open cases, classes left out) is touched, and the statistics still add up."""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.lifecycle.clock import Clock
from bot.lifecycle.timers import TimerWorker
from bot.privacy.keys import install_data_keyring
from bot.privacy.retention import (
    FILES_TIMER_KEY,
    TIMER_KEY,
    TIMER_KIND,
    RetentionPolicyError,
    RetentionService,
    load_retention_policy,
    parse_retention_policy,
)
from storage.audit import TortoiseAuditLog
from storage.crypto import lookup_hash
from storage.database import open_database
from storage.evidence import LocalEvidenceStore
from storage.models import (
    AuditEntry,
    Case,
    CaseEvent,
    ChannelIdentity,
    Conversation,
    CsatSurvey,
    Customer,
    DeadReason,
    Evidence,
    OutboxItem,
    OutboxStatus,
    Timer,
    TranscriptMessage,
)
from storage.outbox import TortoiseOutbox, add_outbox_item
from storage.privacy import sweep_unreferenced_files
from storage.timers import DueTimer, TortoiseTimerStore
from tests.integration.privacy.raw_database import raw_dump

NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=400)
LATELY = NOW - timedelta(days=10)
POLICY = """\
# keep files half a year, messages and closed cases a year
evidence: {after_days: 180}
transcripts: {after_days: 365}
closed_cases:
  after_days: 365
  action: anonymise
audit_log: {after_days: 365}
"""


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _case(store: LocalEvidenceStore, number: str, status: str, at: datetime, phone: str, words: str,
                photo: bytes) -> Case:
    customer = await Customer.create(display_name=f"customer {number}", lang="en")
    identity = await ChannelIdentity.create(customer=customer, channel="web", sender_id=f"session-{number}")
    conversation = await Conversation.create(identity=identity, flow_id="complaint", flow_version=1, step_id="done",
                                             status="completed", lang="en", state={"answers": {"phone": phone}})
    case = await Case.create(number=number, status=status, customer=customer, conversation=conversation,
                             channel="web", sender_id=f"session-{number}", lang="en", name=f"Name {number}",
                             phone=phone, phone_hash=lookup_hash("phone", phone), description=words,
                             product="kettle", category="product_quality")
    await TranscriptMessage.create(identity=identity, conversation=conversation, case=case, direction="in",
                                   author="customer", text=words)
    blob = await store.put(_chunks(photo), max_bytes=10**6)
    await Evidence.create(case=case, conversation=conversation, file_name="photo.jpg", media_type="image/jpeg",
                          size=blob.size, sha256=blob.sha256, storage_key=blob.storage_key)
    await CsatSurvey.create(case=case, channel="web", sender_id=f"session-{number}", lang="en", status="answered",
                            score=2, comment=f"slow answer, call me on {phone}")
    # Age every row as if it had been written then (auto_now only applies to save(), not to update()).
    await Case.filter(id=case.id).update(created_at=at, updated_at=at)
    await Evidence.filter(case_id=case.id).update(created_at=at)
    await TranscriptMessage.filter(case_id=case.id).update(created_at=at)
    await Conversation.filter(id=conversation.id).update(updated_at=at)
    return case


async def _unfinished_conversation(store: LocalEvidenceStore, at: datetime, words: str, photo: bytes) -> int:
    customer = await Customer.create(lang="zh")
    identity = await ChannelIdentity.create(customer=customer, channel="telegram", sender_id="880011")
    conversation = await Conversation.create(identity=identity, flow_id="complaint", flow_version=1, step_id="when",
                                             status="active", lang="zh", state={"answers": {"description": words}})
    await TranscriptMessage.create(identity=identity, conversation=conversation, direction="in", author="customer",
                                   text=words)
    blob = await store.put(_chunks(photo), max_bytes=10**6)
    await Evidence.create(conversation=conversation, file_name="receipt.png", media_type="image/png",
                          size=blob.size, sha256=blob.sha256, storage_key=blob.storage_key)
    await TranscriptMessage.filter(conversation_id=conversation.id).update(created_at=at)
    await Evidence.filter(conversation_id=conversation.id).update(created_at=at)
    await Conversation.filter(id=conversation.id).update(updated_at=at)
    return conversation.id


async def _world(settings: Settings) -> dict[str, int]:
    store = LocalEvidenceStore(settings.evidence_dir)
    old_closed = await _case(store, "PL-OLD001", "closed", LONG_AGO, "+44 20 7946 0311",
                             "The kettle lid snapped off", b"\xff\xd8old closed photo" * 100)
    recent = await _case(store, "PL-NEW002", "closed", LATELY, "+44 20 7946 0322", "Recent broken kettle",
                         b"\xff\xd8recent photo" * 100)
    # Closed lately after a long life: its old files and messages wait for the period to pass after closing.
    await Evidence.filter(case_id=recent.id).update(created_at=LONG_AGO)
    await TranscriptMessage.filter(case_id=recent.id).update(created_at=LONG_AGO)
    await _case(store, "PL-OPEN03", "in_progress", LONG_AGO, "+44 20 7946 0333", "Still waiting for a refund",
                b"\xff\xd8open case photo" * 100)
    abandoned = await _unfinished_conversation(store, LONG_AGO, "烧水壶漏电，我一直在等", b"\x89PNG abandoned" * 100)
    old_audit = await AuditEntry.create(actor="a@example.com", via="console", action="flow.published",
                                        object_type="flow", object_id="complaint", changes=[])
    await AuditEntry.filter(id=old_audit.id).update(created_at=LONG_AGO)
    await AuditEntry.create(actor="a@example.com", via="console", action="flow.published", object_type="flow",
                            object_id="complaint", changes=[])
    await _outbox_rows(LONG_AGO, "5550301")
    await _outbox_rows(LATELY, "5550402")
    return {"old_closed": old_closed.id, "abandoned": abandoned, "old_audit": old_audit.id}


async def _outbox_rows(at: datetime, chat: str) -> None:
    """Replies to a Telegram chat written `at`: one sent, one given up, one still waiting (never touched)."""
    outbox = TortoiseOutbox(skip_locked=False)
    reply = {"chat_id": chat, "text": f"Thank you, we noted +44 20 7946 {chat[-4:]}"}
    ids = [await add_outbox_item(kind="message", channel="telegram", ordering_key=f"telegram:{chat}", payload=reply)
           for _ in range(3)]
    await outbox.mark_sent(ids[0])
    await outbox.mark_dead(ids[1], DeadReason.REFUSED, f"Forbidden: bot was blocked by the user {chat}")
    await OutboxItem.filter(id__in=ids).update(created_at=at)


async def _plaint(settings: Settings, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        env={**os.environ, "PLAINT_DATABASE_URL": settings.effective_database_url,
             "PLAINT_DATA_DIR": str(settings.data_dir), "PLAINT_RETENTION_FILE": str(settings.retention_file)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _counts() -> dict[str, int]:
    return {model.__name__: await model.all().count()
            for model in (Case, Evidence, TranscriptMessage, Conversation, AuditEntry, CsatSurvey)}


async def _statistics() -> Counter[tuple[str, str, str | None, str | None]]:
    return Counter((case.status, case.channel, case.product, case.category) for case in await Case.all())


async def test_dry_run_then_apply_removes_only_what_the_policy_names(settings: Settings, tmp_path: Path) -> None:
    policy = tmp_path / "retention.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    settings = settings.model_copy(update={"retention_file": policy})
    install_data_keyring(settings)
    async with open_database(settings.effective_database_url):
        ids = await _world(settings)
        before, statistics = await _counts(), await _statistics()
        files_before = sorted(path for path in settings.evidence_dir.rglob("*") if path.is_file())
        assert len(files_before) == 4

        code, out, err = await _plaint(settings, "privacy", "retention")
        assert code == 0, err
        assert "closed_cases" in out and "1 rows would be anonymised (e.g. PL-OLD001)" in out
        # Evidence: the old closed case's file and the abandoned conversation's; never the open case's.
        assert "evidence" in out and "2 rows, 2 files would be deleted" in out and "PL-OPEN03" not in out
        assert "audit_log" in out and "dry run: nothing was changed" in out
        # Settled outbox rows older than the transcripts' period: the old chat's sent and dead replies.
        assert "settled_outbox" in out and "2 rows would be deleted" in out
        assert await _counts() == before
        assert sorted(path for path in settings.evidence_dir.rglob("*") if path.is_file()) == files_before

        code, out, err = await _plaint(settings, "privacy", "retention", "--apply", "--actor", "dpo")
        assert code == 0, err
        assert "1 rows anonymised" in out

        # The old closed case is anonymised: its row and its statistics stay, nothing says who or what.
        old = await Case.get(id=ids["old_closed"])
        assert (old.status, old.product, old.category) == ("closed", "kettle", "product_quality")
        assert (old.name, old.phone, old.description, old.phone_hash) == (None, None, None, None)
        survey = await CsatSurvey.get(case_id=old.id)
        assert (survey.score, survey.comment) == (2, None)
        assert "retention_anonymised" in [event.kind for event in await CaseEvent.filter(case_id=old.id)]
        assert await _statistics() == statistics
        # The abandoned conversation is gone with its message and its file.
        assert not await Conversation.filter(id=ids["abandoned"]).exists()
        # Outside the policy: the recent closed case and the old OPEN case keep everything.
        for number, phone, words in (("PL-NEW002", "+44 20 7946 0322", "Recent broken kettle"),
                                     ("PL-OPEN03", "+44 20 7946 0333", "Still waiting for a refund")):
            kept = await Case.get(number=number)
            assert (kept.phone, kept.description) == (phone, words)
            assert await Evidence.filter(case_id=kept.id).count() == 1
            assert [row.text for row in await TranscriptMessage.filter(case_id=kept.id)] == [words]
        remaining = [path for path in settings.evidence_dir.rglob("*") if path.is_file()]
        assert len(remaining) == 2
        # The audit log lost its old entry and recorded the run.
        assert not await AuditEntry.filter(id=ids["old_audit"]).exists()
        run = await AuditEntry.get(action="retention.applied")
        assert run.actor == "cli:dpo" and run.object_type == "retention"
        assert {item["data_class"]: item["rows"] for item in run.after["classes"]} == {
            "evidence": 2, "transcripts": 3, "closed_cases": 1, "audit_log": 1,  # 2 messages, 1 conversation
            "settled_outbox": 2,
        }
        # The old chat keeps only its reply still waiting; the recent chat's rows are all there.
        assert [row.status for row in await OutboxItem.filter(ordering_key="telegram:5550301")] == [
            OutboxStatus.PENDING]
        assert await OutboxItem.filter(ordering_key="telegram:5550402").count() == 3

        stored = "\n".join(await raw_dump())
        readable = "\n".join(str(value) for case in await Case.all() for value in (case.name, case.description))
        # Digit runs of the erased phone no timestamp holds.
        for value in ("7946 0311", "79460311", "The kettle lid snapped", "烧水壶漏电", "session-PL-OLD001",
                      "blocked by the user 5550301"):
            assert value not in stored and value not in readable, value

        # Applying again finds nothing: the run is idempotent.
        code, out, err = await _plaint(settings, "privacy", "retention")
        assert code == 0, err
        assert "0 rows" in out and "would be anonymised" in out and "1 rows" not in out


class FixedClock(Clock):
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@pytest.mark.one_database("sqlite")
async def test_a_worker_runs_the_policy_on_its_daily_timer(settings: Settings, tmp_path: Path) -> None:
    policy = tmp_path / "retention.yaml"
    policy.write_text("closed_cases: {after_days: 365, action: delete}\n", encoding="utf-8")
    install_data_keyring(settings)
    async with open_database(settings.effective_database_url):
        ids = await _world(settings)
        timers = TortoiseTimerStore(skip_locked=False)
        clock = FixedClock(NOW)
        service = RetentionService(policy_file=policy, evidence=LocalEvidenceStore(settings.evidence_dir),
                                   audit_log=TortoiseAuditLog(), timers=timers, now=clock.now)
        await service.ensure_scheduled()
        await service.ensure_scheduled()  # a second worker starting: still one timer
        assert await Timer.filter(kind=TIMER_KIND, status="pending").count() == 1

        worker = TimerWorker(timers, {TIMER_KIND: service}, clock, name="w1")
        assert await worker.fire_due() == 0  # not due yet
        clock.at = NOW + timedelta(minutes=2)
        assert await worker.fire_due() == 1

        assert not await Case.filter(id=ids["old_closed"]).exists()  # deleted, as the policy says
        assert await Case.filter(number__in=["PL-NEW002", "PL-OPEN03"]).count() == 2
        # Classes left out of the policy are kept for ever: the abandoned conversation and the old audit entry.
        assert await Conversation.filter(id=ids["abandoned"]).exists()
        assert await AuditEntry.filter(id=ids["old_audit"]).exists()
        run = await AuditEntry.get(action="retention.applied")
        assert (run.actor, run.via) == ("retention", "worker")
        following = await Timer.get(kind=TIMER_KIND, key=TIMER_KEY, status="pending")
        assert following.due_at >= clock.at + timedelta(hours=23)


class _KilledAfter:
    """The retention run, then the process dies before its transaction commits."""

    def __init__(self, service: RetentionService) -> None:
        self.service = service

    async def fire(self, timer: DueTimer, now: datetime) -> None:
        await self.service.fire(timer, now)
        raise RuntimeError("killed before the commit")


async def test_files_go_only_after_the_timers_transaction_committed(settings: Settings, tmp_path: Path) -> None:
    policy = tmp_path / "retention.yaml"
    policy.write_text("closed_cases: {after_days: 365, action: delete}\n", encoding="utf-8")
    install_data_keyring(settings)
    store = LocalEvidenceStore(settings.evidence_dir)
    async with open_database(settings.effective_database_url):
        ids = await _world(settings)
        old_file = store.path_of((await Evidence.get(case_id=ids["old_closed"])).storage_key)
        timers = TortoiseTimerStore(skip_locked=False)
        clock = FixedClock(NOW + timedelta(minutes=2))
        service = RetentionService(policy_file=policy, evidence=store, audit_log=TortoiseAuditLog(), timers=timers,
                                   now=lambda: NOW)
        await service.ensure_scheduled()

        # Killed inside the run: the rows are back, and so is every file they name.
        assert await TimerWorker(timers, {TIMER_KIND: _KilledAfter(service)}, clock, name="w1").fire_due() == 0
        assert await Case.filter(id=ids["old_closed"]).exists()
        assert all(store.path_of(row.storage_key).exists() for row in await Evidence.all())

        # A run that commits: the rows go at once, their file only when the recorded deletion fires after it.
        worker = TimerWorker(timers, {TIMER_KIND: service}, clock, name="w2")
        clock.at += timedelta(hours=1)  # past the retry delay of the killed run
        assert await worker.fire_due() == 1
        assert not await Case.filter(id=ids["old_closed"]).exists()
        assert old_file.exists()
        deletions = await Timer.filter(kind=TIMER_KIND, key=FILES_TIMER_KEY, status="pending")
        assert len(deletions) == 2  # this run's files, and the daily sweep (the run is complete)
        assert await worker.fire_due() == 2
        assert not old_file.exists()
        assert all(store.path_of(row.storage_key).exists() for row in await Evidence.all())

        # What a crash left behind between a commit and a file deletion goes with the daily sweep, once old
        # enough that no upload in progress can be about to name it.
        orphan = (await store.put(_chunks(b"orphaned by a crash" * 50), max_bytes=10**6)).storage_key
        fresh = (await store.put(_chunks(b"an upload whose row is not committed yet" * 50),
                                 max_bytes=10**6)).storage_key
        long_ago = (NOW - timedelta(days=2)).timestamp()
        os.utime(store.path_of(orphan), (long_ago, long_ago))
        assert await sweep_unreferenced_files(store, timedelta(days=1).total_seconds()) == 1
        assert not store.path_of(orphan).exists() and store.path_of(fresh).exists()
        assert all(store.path_of(row.storage_key).exists() for row in await Evidence.all())


def test_a_wrong_policy_is_refused_with_its_line_and_field(tmp_path: Path) -> None:
    with pytest.raises(RetentionPolicyError) as error:
        parse_retention_policy("evidence: {after_days: 30}\nclosed_cases:\n  after_days: 365\n  action: shred\n",
                               "retention.yaml")
    assert str(error.value).startswith("retention.yaml: line 4: closed_cases.action:")
    with pytest.raises(RetentionPolicyError, match="line 1: transcript: Extra inputs"):
        parse_retention_policy("transcript: {after_days: 30}\n", "retention.yaml")
    with pytest.raises(RetentionPolicyError, match=r"line 2: audit_log\.after_days"):
        parse_retention_policy("evidence: {after_days: 30}\naudit_log: {after_days: 0}\n", "retention.yaml")
    assert load_retention_policy(None).empty


@pytest.mark.one_database("sqlite")
async def test_without_a_policy_the_worker_still_sweeps_files_nobody_names(settings: Settings) -> None:
    install_data_keyring(settings)
    store = LocalEvidenceStore(settings.evidence_dir)
    async with open_database(settings.effective_database_url):
        ids = await _world(settings)
        timers = TortoiseTimerStore(skip_locked=False)
        clock = FixedClock(NOW + timedelta(minutes=2))
        service = RetentionService(policy_file=None, evidence=store, audit_log=TortoiseAuditLog(), timers=timers,
                                   now=lambda: clock.at)
        # An erasure that crashed after its commit left the person's file behind a day ago.
        orphan = (await store.put(_chunks(b"an erased person's photo" * 50), max_bytes=10**6)).storage_key
        long_ago = (NOW - timedelta(days=2)).timestamp()
        os.utime(store.path_of(orphan), (long_ago, long_ago))
        await service.ensure_scheduled()
        worker = TimerWorker(timers, {TIMER_KIND: service}, clock, name="w1")
        clock.at += timedelta(minutes=2)
        assert await worker.fire_due() == 1  # the run: nothing to remove, the sweep recorded
        assert await worker.fire_due() == 1  # the sweep
        assert not store.path_of(orphan).exists()
        assert await Case.filter(id=ids["old_closed"]).exists()  # no policy: nothing else is touched
        # ...but settled outbox rows past the fixed period (30 days) go; the recent ones and waiting ones stay.
        assert [row.status for row in await OutboxItem.filter(ordering_key="telegram:5550301")] == [
            OutboxStatus.PENDING]
        assert await OutboxItem.filter(ordering_key="telegram:5550402").count() == 3
        run = await AuditEntry.get(action="retention.applied")
        assert {item["data_class"]: item["rows"] for item in run.after["classes"]} == {"settled_outbox": 2}
        assert all(store.path_of(row.storage_key).exists() for row in await Evidence.all())
        following = await Timer.get(kind=TIMER_KIND, key=TIMER_KEY, status="pending")
        assert following.due_at >= clock.at + timedelta(hours=23)
        # A policy saved in the console applies within minutes, not at the next daily sweep.
        await service.save_policy("closed_cases: {after_days: 365}\n", actor="admin@plaint.example", via="console")
        following = await Timer.get(kind=TIMER_KIND, key=TIMER_KEY, status="pending")
        assert following.due_at <= clock.at + timedelta(minutes=1)
