"""An agent's Slack reply to a WeChat customer arrives as text a person reads (no entities, link markup or user
ids); a PDF the agent shares goes as its signed link (WeChat's customer-service API takes no PDF), a picture as
an image message."""

from __future__ import annotations

import uuid
from urllib.parse import urlparse

from storage.models import Case, ChannelIdentity, Customer
from storage.outbox import add_outbox_item
from tests.integration.slack.harness import AGENT_THREE, DEFAULT_TEAM_CHANNEL, HarnessFactory
from tests.integration.slack.test_agent_files import PDF, PNG, share
from tests.waiting import eventually

WIRE = "Refund &lt; 100 EUR &amp; a voucher, see <https://example.com/faq|our FAQ>, ask <@UAGENT0003>. *Thanks*"


async def test_a_reply_and_a_file_reach_a_wechat_customer_clean(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint(wechat=True)
    wechat = plaint.wechat
    assert wechat is not None
    openid = f"oDesk{uuid.uuid4().hex[:20]}"
    # A case the WeChat intake filed (its conversation is the WeChat suite's), announced to the desk as the intake
    # announces it.
    customer = await Customer.create()
    await ChannelIdentity.create(customer=customer, channel="wechat", sender_id=openid)
    number = f"PL-W{uuid.uuid4().hex[:6].upper()}"
    await Case.create(number=number, status="new", customer=customer, channel="wechat", sender_id=openid, lang="en",
                      description="The kettle leaks", category="product_defect")
    await add_outbox_item(kind="desk", channel="slack", ordering_key=f"desk:{number}",
                          payload={"event": "case_filed", "case_number": number})
    case = await plaint.wait_for_case(number, lambda case: case.slack_ts is not None, "posted")
    assert case.slack_channel == DEFAULT_TEAM_CHANNEL and case.slack_ts is not None

    event, event_id = plaint.thread_message(AGENT_THREE, DEFAULT_TEAM_CHANNEL, case.slack_ts, WIRE)
    assert (await plaint.post(plaint.signer.event(event, event_id))).status == 200
    pdf = plaint.api.add_file("return-label.pdf", "application/pdf", PDF, "pdf")
    await share(plaint, AGENT_THREE, DEFAULT_TEAM_CHANNEL, case.slack_ts, "", [pdf])

    def link_lines(texts: list[str]) -> list[str]:
        # The agent's reply names the file first ("📎 return-label.pdf"); its link follows in a message of its own.
        return [text for text in texts if "📎 return-label.pdf" in text and "https://" in text]

    async def both() -> bool:
        texts = [text for to, text in wechat.sent_texts if to == openid]
        return any("voucher" in text for text in texts) and bool(link_lines(texts))

    await eventually(both, what="the reply and the file on WeChat")
    texts = [text for to, text in wechat.sent_texts if to == openid]
    [reply] = [text for text in texts if "voucher" in text]
    assert "Refund < 100 EUR & a voucher, see our FAQ (https://example.com/faq), ask Agent 0003. Thanks" in reply
    for leak in ("&lt;", "&amp;", "<https://", "UAGENT0003", "*Thanks*"):
        assert leak not in reply, leak
    [link_line] = link_lines(texts)
    link = urlparse(link_line.split(": ", 1)[1].strip())
    response = await plaint.client.get(f"{link.path}?{link.query}")
    assert response.status == 200 and await response.read() == PDF

    # A picture is uploaded as temporary media and sent as an image message.
    png = plaint.api.add_file("where-to-cut.png", "image/png", PNG, "png")
    await share(plaint, AGENT_THREE, DEFAULT_TEAM_CHANNEL, case.slack_ts, "", [png])

    async def image() -> bool:
        return (openid, PNG) in wechat.sent_images

    await eventually(image, what="the picture on WeChat")
