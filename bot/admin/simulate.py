"""The preview: a conversation with a flow (a draft or any version), rendered the way a channel would show
it (numbered options on WeChat, its length limits), with the NLP's proposals. Nothing is stored: the
engine is pure, and the analyzer only reads."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from bot.channels.base import Channel, RenderedPart
from bot.channels.slack import SlackChannel
from bot.channels.telegram import TelegramChannel
from bot.channels.web import TranscriptChannel
from bot.channels.wechat import WeChatChannel
from bot.intake import ProposalSource
from bot.messages import Button, ChannelName, Outbound
from flows import ConversationState, FileCase, Flow, Proposal, Turn, advance, pending_analysis, start

PreviewChannelName = Literal["web", "telegram", "wechat", "slack"]
PREVIEW_CASE_NUMBER = "PL-PREVIEW"

_CHANNEL_CLASSES: dict[PreviewChannelName, type[Channel]] = {
    "web": TranscriptChannel,
    "telegram": TelegramChannel,
    "wechat": WeChatChannel,
    "slack": SlackChannel,
}


class _PreviewChannel(Channel):
    """A channel's rendering rules (the real class's limits and button support) without its platform."""

    def __init__(self, name: PreviewChannelName) -> None:
        model = _CHANNEL_CLASSES[name]
        channel_name: ChannelName = name
        self.name = channel_name
        self.max_text_length = model.max_text_length
        self.supports_buttons = model.supports_buttons

    async def send_part(self, message: Outbound, part: RenderedPart) -> None:
        raise NotImplementedError("a preview never sends")


@dataclass(frozen=True)
class PreviewTurn:
    said: str
    replies: tuple[RenderedPart, ...]
    proposals: tuple[Proposal, ...]
    step: str | None
    case_filed: bool


async def simulate(
    flow: Flow,
    channel: PreviewChannelName,
    lang: Literal["en", "zh"],
    messages: list[str],
    analyzer: ProposalSource | None,
) -> list[PreviewTurn]:
    renderer = _PreviewChannel(channel)
    state: ConversationState | None = None
    turns: list[PreviewTurn] = []
    for text in messages:
        turn = Turn(now=datetime.now(UTC), text=text, locale=lang)
        proposals: tuple[Proposal, ...] = ()
        if state is not None and analyzer is not None:
            pending = pending_analysis(flow, state, turn)
            if pending:
                proposals = await analyzer.propose(pending, state.lang)
                # As the intake does: the catalog's buttons, offered when nothing was proposed.
                turn = replace(turn, proposals=proposals + analyzer.catalog_choices(state.lang))
        outcome = start(flow, turn) if state is None else advance(flow, state, turn)
        state = outcome.state
        filed = any(isinstance(effect, FileCase) for effect in outcome.effects)
        parts: list[RenderedPart] = []
        for reply in outcome.replies:
            message = Outbound(
                channel=renderer.name,
                recipient_id="preview",
                text=reply.text.replace("{case_number}", PREVIEW_CASE_NUMBER),
                buttons=tuple(Button(choice.value, choice.label) for choice in reply.choices),
            )
            parts += renderer.render(message)
        turns.append(
            PreviewTurn(text, tuple(parts), proposals, state.step_id if state.status == "active" else None, filed)
        )
    return turns
