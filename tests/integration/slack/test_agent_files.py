"""An agent's file shared in the case thread reaches the customer: downloaded from the fake Slack with the bot
token, stored with the case, and sent through the outbox as the customer's platform allows (Telegram
sendDocument/sendPhoto, the web chat a signed link in the conversation); a file that cannot go is told."""

from __future__ import annotations

import uuid
from urllib.parse import urlparse

from storage.models import Evidence
from tests.fakes.slack_api import RecordedCall
from tests.integration.slack.complaint_driver import Answer, file_complaint
from tests.integration.slack.harness import (
    AGENT_THREE,
    AGENT_TWO,
    DEFAULT_TEAM_CHANNEL,
    WEB_TEAM_CHANNEL,
    HarnessFactory,
    SlackHarness,
    file_web_case,
)
from tests.integration.telegram.telegram_updates import TelegramCustomer
from tests.waiting import eventually

PDF = b"%PDF-1.4\n% a return label\n" + bytes(range(256)) * 40
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def share(plaint: SlackHarness, user: str, channel: str, thread_ts: str, text: str,
                files: list[dict[str, object]]) -> None:
    event, event_id = plaint.thread_message(user, channel, thread_ts, text)
    event.update(subtype="file_share", files=files)
    assert (await plaint.post(plaint.signer.event(event, event_id))).status == 200


async def test_an_agents_pdf_and_photo_reach_a_telegram_customer(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint(telegram=True)
    fake = plaint.telegram
    assert fake is not None
    customer = TelegramCustomer(user_id=777002, first_name="Ada", language_code="en")
    number = await file_complaint(plaint.telegram_sender(customer), Answer(text="I want to complain"))
    case = await plaint.wait_for_case(number, lambda case: case.slack_ts is not None, "posted")
    assert case.slack_ts is not None

    pdf = plaint.api.add_file("return-label.pdf", "application/pdf", PDF, "pdf")
    png = plaint.api.add_file("where-to-cut.png", "image/png", PNG, "png")
    await share(plaint, AGENT_THREE, DEFAULT_TEAM_CHANNEL, case.slack_ts, "Here is your return label.", [pdf, png])

    async def uploaded() -> bool:
        return len(fake.uploads) >= 2

    await eventually(uploaded, what="the files on Telegram")
    document, photo = fake.uploads
    assert (document.method, document.field, document.file_name, document.content) == (
        "sendDocument", "document", "return-label.pdf", PDF
    )
    assert (photo.method, photo.field, photo.content) == ("sendPhoto", "photo", PNG)
    assert all(call.params["chat_id"] == str(customer.user_id) for call in fake.calls_to("sendDocument"))
    assert any("return label" in text for text in fake.sent_texts(customer.user_id))
    # Kept with the case, and the agent's message got its reaction.
    stored = {row.file_name: row.size for row in await Evidence.filter(case__number=number)}
    assert stored["return-label.pdf"] == len(PDF) and stored["where-to-cut.png"] == len(PNG)
    assert plaint.api.calls_to("reactions.add", DEFAULT_TEAM_CHANNEL)
    # Downloaded with the bot token from Slack, nothing else.
    assert [auth for _, auth in plaint.api.file_downloads] == [f"Bearer {plaint.api.token}"] * 2


async def test_an_agents_pdf_reaches_the_web_chat_as_a_signed_link(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    session = f"web-{uuid.uuid4().hex[:12]}"
    number = await file_web_case(plaint, session)
    case = await plaint.wait_for_case(number, lambda case: case.slack_ts is not None, "posted")
    assert case.slack_ts is not None

    pdf = plaint.api.add_file("return-label.pdf", "application/pdf", PDF, "pdf")
    await share(plaint, AGENT_TWO, WEB_TEAM_CHANNEL, case.slack_ts, "", [pdf])

    async def with_file() -> list[dict[str, object]]:
        return [m for m in await plaint.web_transcript(session) if m.get("file_links")]

    async def arrived() -> bool:
        return bool(await with_file())

    await eventually(arrived, what="the file in the web chat")
    [message] = await with_file()
    assert message["author"] == "agent" and message["files"] == ["return-label.pdf"]
    assert "return-label.pdf" in str(message["text"])
    [link] = message["file_links"]  # type: ignore[misc]
    parsed = urlparse(str(link))
    response = await plaint.client.get(f"{parsed.path}?{parsed.query}")
    assert response.status == 200 and await response.read() == PDF
    # Without the signature the file does not open.
    assert (await plaint.client.get(parsed.path)).status == 403


async def test_a_file_that_cannot_go_is_told_to_the_agent(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    session = f"web-{uuid.uuid4().hex[:12]}"
    number = await file_web_case(plaint, session)
    case = await plaint.wait_for_case(number, lambda case: case.slack_ts is not None, "posted")
    assert case.slack_ts is not None

    huge = {**plaint.api.add_file("scan.tiff", "image/tiff", b"II*\x00", "tiff"), "size": 30 * 1024 * 1024}
    await share(plaint, AGENT_TWO, WEB_TEAM_CHANNEL, case.slack_ts, "", [huge])

    def notices() -> list[RecordedCall]:
        return [call for call in plaint.api.calls_to("chat.postEphemeral", WEB_TEAM_CHANNEL)
                if "scan.tiff" in str(call.params.get("text"))]

    async def told() -> bool:
        return bool(notices())

    await eventually(told, what="the agent told")
    [notice] = notices()
    assert notice.params["user"] == AGENT_TWO and notice.params["thread_ts"] == case.slack_ts
    assert "*not* sent to the customer" in str(notice.params["text"]) and "25 MB" in str(notice.params["text"])
    assert not plaint.api.file_downloads  # refused by its declared size, before a byte was fetched
    assert "scan.tiff" not in {row.file_name for row in await Evidence.filter(case__number=number)}
