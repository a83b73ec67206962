"""An agent's Slack reply reaches the customer as text a person reads: no entities, no link markup, no user ids."""

from __future__ import annotations

import uuid

from storage.models import Case
from tests.integration.slack.harness import AGENT_TWO, WEB_TEAM_CHANNEL, HarnessFactory, file_web_case
from tests.waiting import eventually

WIRE = (
    "Refund &lt; 100 EUR &amp; a voucher, see <https://example.com/faq|our FAQ>, my colleague <@U0AGUKCWFS0> "
    "will call. *Thanks*"
)
# The mentioned colleague by their display name (users.info), never the internal id.
CLEAN = "Refund < 100 EUR & a voucher, see our FAQ (https://example.com/faq), my colleague Agent WFS0 will call. Thanks"


async def test_a_reply_with_entities_a_link_and_a_mention_arrives_clean(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    session = f"web-{uuid.uuid4().hex[:12]}"
    number = await file_web_case(plaint, session)
    thread_ts = (await plaint.wait_for_case(number, lambda case: case.slack_ts is not None, "posted")).slack_ts
    assert thread_ts is not None

    event, event_id = plaint.thread_message(AGENT_TWO, WEB_TEAM_CHANNEL, thread_ts, WIRE)
    assert (await plaint.post(plaint.signer.event(event, event_id))).status == 200

    async def relayed() -> list[str]:
        return [m["text"] for m in await plaint.web_transcript(session) if "voucher" in m["text"]]

    async def arrived() -> bool:
        return bool(await relayed())

    await eventually(arrived, what="agent reply relayed")
    [text] = await relayed()
    assert CLEAN in text
    for leak in ("&lt;", "&amp;", "<https://", "|our FAQ>", "U0AGUKCWFS0", "*Thanks*"):
        assert leak not in text, leak
    assert (await Case.get(number=number)).status == "waiting_for_customer"
