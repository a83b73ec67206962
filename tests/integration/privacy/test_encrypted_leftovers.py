"""The last clear-text personal values: a satisfaction comment, a webhook's event body (it carries contact
details for receivers allowed to see them) and a webhook's signing secret are ciphertext in the database,
readable through the stores, and erased with the person."""

from __future__ import annotations

from bot.config import Settings
from bot.privacy.keys import install_data_keyring
from storage.crypto import VALUE_PREFIX, lookup_hash
from storage.csat import TortoiseCsatStore
from storage.database import open_database
from storage.evidence import LocalEvidenceStore
from storage.models import Case, ChannelIdentity, CsatSurvey, Customer, WebhookDelivery
from storage.privacy import SubjectQuery, erase_subject, find_subject
from storage.webhooks import DeliveryRequest, TortoiseWebhookStore
from tests.integration.privacy.raw_database import raw_dump

COMMENT = "师傅态度很差，电话 139 2468 1357 一直没人接"
PHONE = "+86 139 2468 1357"
SECRET = "whsec-Zq8vT2mN5pL0xR7k"


async def test_comment_webhook_body_and_secret_are_ciphertext_and_erased_with_the_person(settings: Settings) -> None:
    install_data_keyring(settings)
    async with open_database(settings.effective_database_url):
        customer = await Customer.create(display_name="周杰", lang="zh")
        await ChannelIdentity.create(customer=customer, channel="wechat", sender_id="o6_bmjrPTlm6_2sgVt7hMZOPfL2M")
        case = await Case.create(
            number="PL-CSAT01", status="closed", customer=customer, channel="wechat",
            sender_id="o6_bmjrPTlm6_2sgVt7hMZOPfL2M", lang="zh", name="周杰", phone=PHONE,
            phone_hash=lookup_hash("phone", PHONE),
        )
        await CsatSurvey.create(case=case, channel="wechat", sender_id="o6_bmjrPTlm6_2sgVt7hMZOPfL2M", lang="zh",
                                status="awaiting_comment", score=1)
        surveys = TortoiseCsatStore()
        assert await surveys.record_comment(case.id, COMMENT)
        webhooks = TortoiseWebhookStore()
        subscription = await webhooks.add_subscription("http://127.0.0.1:9/hook", ["case.closed"], SECRET, True)
        delivery_id = await webhooks.queue_delivery(DeliveryRequest(
            subscription.id, "case.closed:PL-CSAT01", "evt-1", "case.closed", "PL-CSAT01",
            {"case": {"number": "PL-CSAT01", "phone": PHONE, "name": "周杰"}},
        ))
        assert delivery_id is not None

        stored = "\n".join(await raw_dump())
        for value in (COMMENT, "2468 1357", "24681357", SECRET, "周杰"):
            assert value not in stored, value
        assert stored.count(VALUE_PREFIX) >= 4
        # The stores read plaintext: the survey's comment, the subscription's secret, the body as sent.
        survey = await surveys.survey(case.id)
        assert survey is not None and survey.comment == COMMENT
        assert (await webhooks.subscriptions())[0].secret == SECRET
        delivery, _ = await webhooks.delivery(delivery_id)
        assert delivery.body["case"]["phone"] == PHONE

        await erase_subject(await find_subject(SubjectQuery(phone=PHONE)),
                            LocalEvidenceStore(settings.evidence_dir), actor="dpo")
        survey_row = await CsatSurvey.get(case_id=case.id)
        assert (survey_row.score, survey_row.comment) == (1, None)  # the score still counts
        assert "o6_bmjrPTlm6" not in survey_row.sender_id
        body = (await WebhookDelivery.get(id=delivery_id)).body
        assert PHONE not in str(body) and "周杰" not in str(body)
        assert body["case"]["number"] == "PL-CSAT01"
