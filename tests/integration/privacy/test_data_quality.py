"""`plaint data check` finds what an operator must fix (counts and case numbers, never a personal value);
`plaint data clean` says what it would change, then normalises contacts and merges the customers that are one
person, with an encrypted undo record that `plaint data undo` plays back."""

from __future__ import annotations

import json

import pytest

from bot.config import Settings
from bot.privacy.keys import install_data_keyring
from storage.crypto import lookup_hash, lookup_hashes
from storage.data_quality import CleanRecordNotFound, undo_clean
from storage.database import open_database
from storage.models import AuditEntry, Case, ChannelIdentity, Customer
from tests.integration.privacy.raw_database import raw_dump
from tests.integration.privacy.test_retention import _plaint


async def _case(number: str, channel: str, sender_id: str, *, lang: str = "en", name: str | None = "Zoe Chen",
                phone: str | None = None, email: str | None = None, description: str | None = "Broken kettle",
                customer: Customer | None = None) -> Case:
    customer = customer or await Customer.create(display_name=name, lang=lang)
    await ChannelIdentity.get_or_create(customer=customer, channel=channel, sender_id=sender_id)
    return await Case.create(
        number=number, status="new", customer=customer, channel=channel, sender_id=sender_id, lang=lang, name=name,
        phone=phone, email=email, phone_hash=lookup_hash("phone", phone), email_hash=lookup_hash("email", email),
        description=description, product="kettle",
    )


async def test_check_then_clean_then_undo(settings: Settings) -> None:
    install_data_keyring(settings)
    async with open_database(settings.effective_database_url):
        # One person on two channels: a Chinese number typed without its country code, then with it.
        web = await _case("PL-DQ0001", "web", "session-9", lang="zh", name="王芳", phone="139 0246 8135",
                          email=" Wang.Fang@Example.COM", description="洗衣机漏水")
        await _case("PL-DQ0002", "telegram", "5550001", lang="zh", name="王芳", phone="+8613902468135",
                    description="洗衣机还是漏水，第二次")
        # The same complaint filed twice, word for word, and a near copy.
        twice = await _case("PL-DQ0003", "web", "session-7", email="zoe@example.com",
                            description="The kettle leaks water from the bottom")
        zoe = await Customer.get(id=twice.customer_id)
        await _case("PL-DQ0004", "web", "session-7", email="zoe@example.com", customer=zoe,
                    description="The kettle leaks water from the bottom")
        await _case("PL-DQ0005", "web", "session-7", email="zoe@example.com", customer=zoe,
                    description="the kettle leaks water from its bottom!")
        # Zoe again, from Slack: a second customer with the same email address.
        await _case("PL-DQ0006", "slack", "U0ZOE", email="zoe@example.com", description="Kettle again")
        # A number that is no number, and a case without name or description.
        await _case("PL-DQ0007", "web", "session-5", phone="12345", description="Fan rattles")
        await _case("PL-DQ0008", "web", "session-4", name=None, phone="+44 20 7946 0418", description=None)

        code, out, err = await _plaint(settings, "data", "check", "--json")
        assert code == 0, err
        report = json.loads(out)
        findings = {name: (item["count"], item["examples"]) for name, item in report["findings"].items()}
        assert report["cases_checked"] == 8
        assert findings["invalid_phone"] == (1, ["PL-DQ0007"])
        assert findings["contact_not_normalised"] == (2, ["PL-DQ0001", "PL-DQ0008"])
        assert findings["missing_name"] == (1, ["PL-DQ0008"])
        assert findings["missing_description"] == (1, ["PL-DQ0008"])
        assert findings["missing_contact"] == (0, [])
        assert findings["person_under_several_identities"] == (1, ["PL-DQ0003", "PL-DQ0004"])
        assert findings["exact_duplicate_cases"] == (1, ["PL-DQ0003", "PL-DQ0004"])
        assert findings["near_duplicate_cases"][0] == 2  # PL-DQ0005 against both
        for personal in ("王芳", "0246", "zoe@", "Wang.Fang", "kettle leaks"):
            assert personal not in out, personal
        # The console reads the last report from the audit log.
        assert (await AuditEntry.filter(action="data.checked").order_by("-id").first()) is not None

        before = {case.number: (case.customer_id, case.phone, case.email) for case in await Case.all()}
        code, out, err = await _plaint(settings, "data", "clean")
        assert code == 0, err
        assert "2 contacts would be normalised, 2 customers would be merged" in out and "dry run" in out
        assert {case.number: (case.customer_id, case.phone, case.email) for case in await Case.all()} == before

        code, out, err = await _plaint(settings, "data", "clean", "--apply", "--actor", "dpo")
        assert code == 0, err
        entry_id = int(out.rsplit("plaint data undo ", 1)[1].strip(" )\n"))
        cleaned = await Case.get(number="PL-DQ0001")
        assert (cleaned.phone, cleaned.email) == ("+8613902468135", "Wang.Fang@example.com")
        assert cleaned.phone_hash in lookup_hashes("phone", "+86 139 0246 8135")
        # Merged: one customer per person, every channel address with it.
        numbers = {case.number: case.customer_id for case in await Case.all()}
        assert numbers["PL-DQ0001"] == numbers["PL-DQ0002"] == web.customer_id
        assert numbers["PL-DQ0006"] == numbers["PL-DQ0003"] == zoe.id
        assert await ChannelIdentity.filter(customer_id=zoe.id).count() == 2
        # The undo record holds the old contacts: encrypted, like them.
        stored = "\n".join(await raw_dump())
        for personal in ("139 0246 8135", "13902468135", "Wang.Fang"):
            assert personal not in stored, personal

        code, out, err = await _plaint(settings, "data", "undo", str(entry_id))
        assert code == 0, err
        assert {case.number: (case.customer_id, case.phone, case.email) for case in await Case.all()} == before
        restored = await Case.get(number="PL-DQ0001")
        assert restored.phone_hash == lookup_hash("phone", "139 0246 8135")
        with pytest.raises(CleanRecordNotFound, match="undone already"):
            await undo_clean(entry_id, actor="cli:dpo", via="cli")
