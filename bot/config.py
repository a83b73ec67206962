"""The one settings object: environment variables prefixed PLAINT_ and an optional config file, read once."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigurationError
from bot.settings_documents import SAFE_YAML_LOADER


class ConfigError(ConfigurationError):
    """Settings that cannot start Plaint; the message names the variable (or the config file) and the problem."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLAINT_", extra="ignore")

    database_url: str = Field(
        default="", description="sqlite:///path, postgres://user@host:5432/db or mysql://user:password@host:3306/db"
    )
    data_dir: Path = Field(default=Path("var"), description="SQLite file, evidence files, models")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    flows_dir: Path | None = Field(default=None, description="Extra flow YAML files (override the defaults)")
    flow_id: str = "complaint"
    catalog_path: Path | None = None
    public_url: str = Field(default="", description="Public base URL, for links in Slack messages")
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(default="text", description="json: one JSON object per line")
    # The business's local time: "yesterday 3pm" from a customer means 3pm here.
    timezone: str = "UTC"
    # false: this `plaint serve` answers HTTP only and `plaint worker` processes take the inbox's turns, the outbox
    # and the timers (PostgreSQL or MariaDB; README "Deployment").
    serve_workers: bool = Field(default=True, description="false: leave the queues to `plaint worker` processes")
    # How long a reply may wait in the outbox before the worker looks again (seconds).
    outbox_poll_interval: float = Field(default=0.5, gt=0)
    evidence_secret: SecretStr = Field(default=SecretStr(""), description="Signs evidence download links")
    data_key: SecretStr = Field(
        default=SecretStr(""),
        description="Encrypts personal data: id:base64key[,older...] (default: a key file under PLAINT_DATA_DIR)",
    )
    # Slack: the agent desk and a customer channel (on when the bot token and a signing secret or app token
    # are set).
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = Field(default=None, description="Socket Mode instead of HTTP events")
    slack_api_url: str = Field(default="https://slack.com/api/", description="Slack Web API base URL")
    slack_customer_channels: str = Field(
        default="", description="Comma-separated Slack channel ids where customers complain (DMs always work)"
    )
    # None: the routing file shipped inside the package (bot/desk/routing.yaml), wherever Plaint runs from.
    slack_routing_file: Path | None = Field(default=None, description="Teams and routing rules")
    # Lifecycle room (issue 12): SLA policies, priority rules and CSAT; unset: the shipped bot/lifecycle/sla.yaml.
    sla_file: Path | None = Field(default=None, description="SLA policies, priority rules and CSAT settings")
    timer_poll_interval: float = Field(default=1.0, gt=0, description="Seconds between timer claims when idle")
    # Telegram (issue #4): the channel is on when the token is set.
    telegram_token: SecretStr | None = Field(default=None, description="Bot token from @BotFather")
    telegram_api_url: str = Field(
        default="https://api.telegram.org", description="Bot API root (a local Bot API server or a test fake)"
    )
    telegram_webhook_secret: SecretStr | None = Field(
        default=None, description="Checked against X-Telegram-Bot-Api-Secret-Token on POST /telegram/webhook"
    )
    telegram_mode: Literal["webhook", "polling"] = Field(
        default="webhook", description="polling: `plaint serve` fetches updates itself (no public URL needed)"
    )
    # WeChat Official Account (on when token, app id and app secret are set; the AES key turns on safe mode).
    wechat_token: SecretStr | None = None
    wechat_aes_key: SecretStr | None = Field(default=None, description="EncodingAESKey, 43 characters")
    wechat_app_id: str | None = None
    wechat_app_secret: SecretStr | None = None
    wechat_api_url: str = "https://api.weixin.qq.com"
    # WeChat gives up on an answer after 5 s; past this many seconds the reply goes by custom/send instead.
    wechat_reply_deadline: float = Field(default=4.5, gt=0, lt=5)
    # WeChat does not say the customer's language; events (subscribe, menu) have no text to detect it from.
    wechat_locale: str | None = "zh-CN"
    # The admin audit log keeps this many days (`plaint admin prune-audit` deletes older entries).
    audit_retention_days: int = Field(default=730, ge=1, le=36500)
    # Retention per data class (evidence, transcripts, closed cases, audit log); unset: nothing is removed but
    # settled outbox rows after 30 days.
    retention_file: Path | None = Field(default=None, description="Retention policy YAML (bot/privacy/retention.py)")
    # Helpdesk connectors (issue 15): each is on when its URL and credentials are set.
    zendesk_url: str = Field(default="", description="https://SUBDOMAIN.zendesk.com")
    zendesk_email: str = Field(default="", description="the agent the API token belongs to")
    zendesk_api_token: SecretStr | None = None
    freshdesk_url: str = Field(default="", description="https://DOMAIN.freshdesk.com")
    freshdesk_api_key: SecretStr | None = None
    connectors_file: Path | None = Field(default=None, description="HTTP connectors with Jinja2 templates (YAML)")
    # Insight (issue 13): spike alerts (method in bot/insight/spikes.py); editable thresholds.
    insight_rollup_minutes: int = Field(default=1, ge=1, le=1440,
                                        description="Minutes between refreshes of the dashboard's daily rollup")
    spike_slack_channel: str = Field(default="", description="Slack channel id for spike alerts (empty: none)")
    spike_check_minutes: int = Field(default=60, ge=1, le=1440, description="Minutes between spike checks")
    spike_min_count: int = Field(default=5, ge=1, description="A spike has at least this many cases in a day")
    spike_ratio: float = Field(default=2.0, ge=1, description="... and at least this many times the usual day")
    spike_alpha: float = Field(default=1e-4, gt=0, le=1, description="... and this unlikely by chance (Poisson)")
    spike_baseline_days: int = Field(default=7, ge=1, le=90, description="The usual day: mean of this many days")

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value and not value.startswith(("sqlite://", "postgres://", "postgresql://", "asyncpg://", "mysql://")):
            raise ValueError("must start with sqlite://, postgres:// or mysql://")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Asia/Shanghai)") from None
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret_charset(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's setWebhook accepts only these characters; refuse at start-up, not at registration.
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z a-z 0-9 _ -")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _telegram_api_url_scheme(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        # Tortoise reads sqlite://<path>; an absolute path keeps the file under PLAINT_DATA_DIR wherever we run.
        return f"sqlite://{(self.data_dir / 'plaint.sqlite3').resolve()}"

    @property
    def slack_customer_channel_ids(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.slack_customer_channels.split(",") if part.strip())

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Environment wins over the config file (PLAINT_CONFIG or `config_file`), overrides win over both."""
    file_values: dict[str, Any] = {}
    path = config_file or (Path(os.environ["PLAINT_CONFIG"]) if os.environ.get("PLAINT_CONFIG") else None)
    if path is not None:
        try:
            loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_YAML_LOADER) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(str(path), f"cannot read config file: {error}") from error
        if not isinstance(loaded, dict):
            raise ConfigError(str(path), "the config file must be a mapping of setting: value")
        file_values = {
            key: value for key, value in loaded.items() if f"PLAINT_{key.upper()}" not in os.environ
        }
    try:
        return Settings(**{**file_values, **overrides})
    except ValidationError as error:
        problems = [
            (f"PLAINT_{'_'.join(str(part) for part in issue['loc']).upper()}", str(issue["msg"]))
            for issue in error.errors()
        ]
        if len(problems) == 1:
            raise ConfigError(*problems[0]) from error
        raise ConfigError(
            "invalid configuration", "; ".join(f"{name}: {reason}" for name, reason in problems)
        ) from error
