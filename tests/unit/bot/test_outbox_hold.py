"""The outbox worker asks a handler whether to hold an entry back (WeChat, while a passive answer to that
customer is prepared). In the running application every handler is wrapped (metrics, the desk's delivery
watch): the question must reach the channel through the wrappers, or the hold silently never happens."""

from __future__ import annotations

from bot.channels.base import Channel, RenderedPart
from bot.delivery import hold_seconds_of
from bot.desk.delivery_watch import DeskDeliveryWatch
from bot.messages import Outbound
from bot.operations.metrics import MeteredHandler, PlaintMetrics, PlatformHealth
from bot.outbox import ChannelDelivery
from storage.outbox import OutboxEntry


class PreparingPassiveAnswer(Channel):
    name = "wechat"

    def hold_seconds(self, recipient_id: str) -> float:
        return 3.0 if recipient_id == "busy-customer" else 0.0

    async def send_part(self, message: Outbound, part: RenderedPart) -> None:
        raise AssertionError("a held message is never sent")


def entry_for(recipient_id: str) -> OutboxEntry:
    return OutboxEntry(id=1, kind="message", channel="wechat", ordering_key=f"wechat:{recipient_id}",
                       payload={"recipient_id": recipient_id, "text": "hi"}, attempts=0)


def test_the_hold_reaches_the_channel_through_every_wrapper() -> None:
    delivery = ChannelDelivery({"wechat": PreparingPassiveAnswer()})
    metered = MeteredHandler("message", delivery, PlaintMetrics(), PlatformHealth())
    watched = DeskDeliveryWatch(metered, desk=None)  # type: ignore[arg-type]  # never asked in a hold
    for handler in (delivery, metered, watched):
        assert hold_seconds_of(handler, entry_for("busy-customer")) == 3.0
        assert hold_seconds_of(handler, entry_for("quiet-customer")) == 0.0


def test_a_handler_that_cannot_hold_never_holds() -> None:
    class Plain:
        async def handle(self, entry: OutboxEntry) -> None: ...

    assert hold_seconds_of(Plain(), entry_for("busy-customer")) == 0.0
