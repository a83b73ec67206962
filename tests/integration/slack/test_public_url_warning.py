"""Slack on without PLAINT_PUBLIC_URL: evidence links would be relative and never open from Slack. Start-up says so."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from bot.composition import plan_application
from bot.config import Settings

pytestmark = pytest.mark.one_database("sqlite")


def _slack_on(settings: Settings, public_url: str) -> Settings:
    return settings.model_copy(
        update={
            "slack_bot_token": SecretStr("xoxb-test"),
            "slack_signing_secret": SecretStr("secret"),
            "public_url": public_url,
        }
    )


def test_start_up_warns_loudly_when_slack_is_on_without_a_public_url(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.slack_app"):
        plan_application(_slack_on(settings, ""))
    [warning] = [record for record in caplog.records if "PLAINT_PUBLIC_URL" in record.getMessage()]
    assert warning.levelno == logging.WARNING and "evidence links" in warning.getMessage()

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.slack_app"):
        plan_application(_slack_on(settings, "https://plaint.example"))
    assert not [record for record in caplog.records if "PLAINT_PUBLIC_URL" in record.getMessage()]
