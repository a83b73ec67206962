"""`plaint sla validate`: admins check an SLA file before deploying it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main


def test_validate_the_shipped_file_and_a_broken_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAINT_SLA_FILE", raising=False)
    monkeypatch.setenv("PLAINT_DATA_DIR", str(tmp_path))
    shipped = CliRunner().invoke(main, ["sla", "validate"])
    assert shipped.exit_code == 0, shipped.output
    assert "OK shipped bot/lifecycle/sla.yaml: 3 policies" in shipped.output
    broken = tmp_path / "sla.yaml"
    broken.write_text(
        "default_calendar: office\ncalendars: {office: {hours: {mon: ['09:00-17:00']}}}\n"
        "policies:\n  - name: vip\n    first_response: soon\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["sla", "validate", str(broken)])
    assert result.exit_code == 1
    assert f"INVALID {broken}: policy 'vip': policies.0.first_response: 'soon' is not a duration" in result.output
