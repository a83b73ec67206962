"""The shape of a Slack request body, checked before Bolt reads it. Bolt looks up ids in the envelope while it
builds its request and runs its middleware; a value of another type there (an `event` that is a list, a team
id that is a number) raises inside Bolt, which answers 500, so Slack retries it for an hour. The fields Bolt
and Plaint read are typed and bounded here; the rest passes through untouched (extra fields allowed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.webhooks import MAX_INBOUND_TEXT_CHARS, validation_reason

SlackId = Annotated[str, Field(max_length=64)]


class _Checked(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class _Ref(_Checked):
    id: SlackId | None = None
    team_id: SlackId | None = None


class SlackAuthorization(_Checked):
    team_id: SlackId | None = None
    enterprise_id: SlackId | None = None
    user_id: SlackId | None = None
    is_bot: bool | None = None
    is_enterprise_install: bool | None = None


class SlackFile(_Checked):
    id: SlackId | None = None
    name: Annotated[str, Field(max_length=1024)] | None = None
    mimetype: Annotated[str, Field(max_length=255)] | None = None
    size: Annotated[int, Field(ge=0, le=2**42)] | None = None
    url_private_download: Annotated[str, Field(max_length=4096)] | None = None


class SlackEvent(_Checked):
    type: SlackId
    subtype: SlackId | None = None
    user: SlackId | None = None
    bot_id: SlackId | None = None
    channel: SlackId | None = None
    channel_type: SlackId | None = None
    team: SlackId | None = None
    text: Annotated[str, Field(max_length=MAX_INBOUND_TEXT_CHARS)] | None = None
    ts: Annotated[str, Field(max_length=32)] | None = None
    thread_ts: Annotated[str, Field(max_length=32)] | None = None
    files: Annotated[list[SlackFile], Field(max_length=20)] | None = None


class SlackEnvelope(_Checked):
    """An Events API body (or url_verification)."""

    type: SlackId
    token: Annotated[str, Field(max_length=256)] | None = None
    challenge: Annotated[str, Field(max_length=256)] | None = None
    team_id: SlackId | None = None
    enterprise_id: SlackId | None = None
    api_app_id: SlackId | None = None
    event_id: SlackId | None = None
    event_time: Annotated[int, Field(ge=0, le=2**40)] | None = None
    is_enterprise_install: bool | None = None
    event: SlackEvent | None = None
    authorizations: Annotated[list[SlackAuthorization], Field(max_length=20)] | None = None


class SlackAction(_Checked):
    # Bolt's action matchers index it directly.
    action_id: SlackId
    block_id: Annotated[str, Field(max_length=256)] | None = None
    type: SlackId | None = None
    value: Annotated[str, Field(max_length=2000)] | None = None


class SlackInteraction(_Checked):
    """A block action, view submission or shortcut (the form's `payload` field)."""

    type: SlackId
    api_app_id: SlackId | None = None
    trigger_id: Annotated[str, Field(max_length=256)] | None = None
    is_enterprise_install: bool | None = None
    user: _Ref | None = None
    team: _Ref | None = None
    enterprise: _Ref | None = None
    channel: _Ref | None = None
    actions: Annotated[list[SlackAction], Field(max_length=25)] | None = None
    view: dict[str, Any] | None = None
    container: dict[str, Any] | None = None
    message: dict[str, Any] | None = None


_EVENTS_API_TYPES = frozenset({"event_callback", "url_verification", "app_rate_limited"})


def _interaction_problem(document: object) -> str | None:
    """What Bolt would index without looking: a block action's `actions`, a view event's `view`."""
    interaction = SlackInteraction.model_validate(document)
    if interaction.type == "block_actions" and not interaction.actions:
        return "actions: missing"
    if interaction.type in ("view_submission", "view_closed") and interaction.view is None:
        return "view: missing"
    return None


@dataclass(frozen=True)
class SlackBody:
    """A signature-checked Slack body read once: its JSON document (an Events API envelope, or an interaction's
    payload; None for a form without one) and why it cannot be a Slack request (None when it can)."""

    document: dict[str, Any] | None
    problem: str | None


def slack_document_problem(document: object, *, interaction: bool) -> str | None:
    """Why this JSON document (an Events API envelope, or with `interaction` an interaction's payload) cannot be a
    Slack request, or None when it can."""
    try:
        if interaction:
            return _interaction_problem(document)
        envelope = SlackEnvelope.model_validate(document)
        if envelope.type == "event_callback" and envelope.event is None:
            return "event: missing"
        # Bolt reads any JSON body of an interaction's type as that interaction.
        return None if envelope.type in _EVENTS_API_TYPES else _interaction_problem(document)
    except ValidationError as error:
        return validation_reason(error)


def read_slack_body(body: bytes, content_type: str) -> SlackBody:
    try:
        text = body.decode("utf-8")
        if content_type == "application/json":
            document = json.loads(text)
            problem = slack_document_problem(document, interaction=False)
        else:
            form = parse_qs(text)
            if "payload" not in form:
                return SlackBody(None, None)
            document = json.loads(form["payload"][0])
            problem = slack_document_problem(document, interaction=True)
    except UnicodeDecodeError:
        return SlackBody(None, "body: not UTF-8")
    except json.JSONDecodeError:
        return SlackBody(None, "body: not JSON")
    if problem is not None or not isinstance(document, dict):
        return SlackBody(None, problem)
    return SlackBody(document, None)
