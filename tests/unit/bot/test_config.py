from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_environment_and_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PLAINT_PORT", "9090")
    monkeypatch.setenv("PLAINT_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.port == 9090
    assert settings.effective_database_url == f"sqlite://{tmp_path.resolve() / 'plaint.sqlite3'}"
    assert settings.evidence_dir == tmp_path / "evidence"


def test_the_default_database_lives_under_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLAINT_DATA_DIR", raising=False)
    monkeypatch.delenv("PLAINT_DATABASE_URL", raising=False)
    assert load_settings().effective_database_url == f"sqlite://{tmp_path.resolve()}/var/plaint.sqlite3"


def test_config_file_loses_to_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "plaint.yaml"
    config.write_text("port: 7000\nhost: 0.0.0.0\n", encoding="utf-8")
    monkeypatch.setenv("PLAINT_PORT", "7001")
    settings = load_settings(config)
    assert (settings.host, settings.port) == ("0.0.0.0", 7001)


def test_invalid_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAINT_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="PLAINT_PORT"):
        load_settings()
    monkeypatch.setenv("PLAINT_PORT", "8080")
    monkeypatch.setenv("PLAINT_DATABASE_URL", "mssql://x")  # SQL Server is not supported (README)
    with pytest.raises(ConfigError, match="PLAINT_DATABASE_URL"):
        load_settings()


def test_unreadable_config_file_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("port: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml"):
        load_settings(broken)


def test_a_configuration_error_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAINT_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert raised.value.source == "PLAINT_TIMEZONE"
    assert "\n" not in str(raised.value) and str(raised.value).startswith("PLAINT_TIMEZONE: ")
