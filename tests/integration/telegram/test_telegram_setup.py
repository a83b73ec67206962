"""Setting Telegram up: configuration, registering the webhook, and which channels start."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from bot.channels.telegram_server import (
    ALLOWED_UPDATES,
    WEBHOOK_PATH,
    delete_webhook,
    set_webhook,
    telegram_plugin,
)
from bot.cli import main
from bot.config import ConfigError, Settings, load_settings
from tests.fakes.telegram_api import running_fake_bot_api

TOKEN = "111:TEST-setup-token"


def test_settings_come_from_plaint_telegram_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAINT_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("PLAINT_TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    monkeypatch.setenv("PLAINT_TELEGRAM_WEBHOOK_SECRET", "abc_DEF-123")
    settings = load_settings()
    assert settings.telegram_token is not None and settings.telegram_token.get_secret_value() == TOKEN
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert settings.telegram_mode == "webhook"
    # Secrets never show up when settings are printed or logged.
    assert TOKEN not in repr(settings) and "abc_DEF-123" not in repr(settings)


def test_a_secret_telegram_would_refuse_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAINT_TELEGRAM_WEBHOOK_SECRET", "has spaces!")
    with pytest.raises(ConfigError, match="PLAINT_TELEGRAM_WEBHOOK_SECRET"):
        load_settings()


def test_the_channel_is_on_only_with_a_token(tmp_path: Path) -> None:
    assert telegram_plugin(Settings(data_dir=tmp_path)) is None
    assert telegram_plugin(Settings(data_dir=tmp_path, telegram_token=SecretStr(""))) is None
    webhook = telegram_plugin(
        Settings(data_dir=tmp_path, telegram_token=SecretStr(TOKEN), telegram_webhook_secret=SecretStr("s"))
    )
    assert webhook is not None
    assert [route.path for route in webhook.routes()] == [WEBHOOK_PATH]
    polling = telegram_plugin(Settings(data_dir=tmp_path, telegram_token=SecretStr(TOKEN), telegram_mode="polling"))
    assert polling is not None and polling.routes() == []


async def test_set_webhook_registers_the_url_with_the_secret(tmp_path: Path) -> None:
    async with running_fake_bot_api(TOKEN) as (fake, url):
        settings = Settings(
            data_dir=tmp_path,
            telegram_token=SecretStr(TOKEN),
            telegram_api_url=url,
            telegram_webhook_secret=SecretStr("abc_DEF-123"),
        )
        await set_webhook(settings, "https://plaint.example.com/telegram/webhook")
        [call] = fake.calls_to("setWebhook")
        assert call.params["url"] == "https://plaint.example.com/telegram/webhook"
        assert call.params["secret_token"] == "abc_DEF-123"
        assert call.json_param("allowed_updates") == list(ALLOWED_UPDATES)
        await delete_webhook(settings)
        assert fake.webhook_url == ""


async def test_set_webhook_needs_the_secret_first(tmp_path: Path) -> None:
    async with running_fake_bot_api(TOKEN) as (fake, url):
        settings = Settings(data_dir=tmp_path, telegram_token=SecretStr(TOKEN), telegram_api_url=url)
        with pytest.raises(ValueError, match="PLAINT_TELEGRAM_WEBHOOK_SECRET"):
            await set_webhook(settings, "https://plaint.example.com/telegram/webhook")
        assert fake.calls_to("setWebhook") == []


def test_cli_refuses_what_telegram_would_refuse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PLAINT_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    missing = runner.invoke(main, ["telegram", "set-webhook", "https://plaint.example.com/telegram/webhook"])
    assert missing.exit_code != 0 and "PLAINT_TELEGRAM_TOKEN" in missing.output
    monkeypatch.setenv("PLAINT_TELEGRAM_TOKEN", TOKEN)
    plain_http = runner.invoke(main, ["telegram", "set-webhook", "http://plaint.example.com/telegram/webhook"])
    assert plain_http.exit_code != 0 and "https://" in plain_http.output
