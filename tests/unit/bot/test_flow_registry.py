from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from bot.desk.routing import SHIPPED_ROUTING_FILE
from bot.flow_registry import FlowRegistry, shipped_flow_files

SHIPPED = next(path for path in shipped_flow_files() if path.name == "complaint.yaml")


def edited_copy(directory: Path, version: int, replace: tuple[str, str] | None = None) -> Path:
    text = SHIPPED.read_text(encoding="utf-8").replace("version: 1\n", f"version: {version}\n")
    if replace:
        text = text.replace(*replace)
    path = directory / "complaint.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_admin_edit_replaces_the_flow_and_a_broken_one_keeps_the_last_valid(tmp_path: Path) -> None:
    registry = FlowRegistry("complaint", tmp_path)
    assert registry.reload() == []
    assert registry.current().version == 1

    edited_copy(tmp_path, 2, ('en: "First, what\'s your name?"', 'en: "Your name, please?"'))
    assert registry.reload() == []
    assert registry.current().version == 2

    edited_copy(tmp_path, 3, ("next: contact_method", "next: no_such_step"))
    [error] = registry.reload()
    assert "complaint.yaml" in str(error) and "no_such_step" in str(error) and "'name'" in str(error)
    assert registry.current().version == 2
    # Conversations that began on version 1 keep it.
    assert registry.for_state(None).version == 2


def test_flows_validate_names_the_file_and_the_step(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["flows", "validate", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and "complaint" in result.output

    broken = edited_copy(tmp_path, 2, ("kind: email", "kind: e-mail"))
    result = runner.invoke(main, ["flows", "validate", str(SHIPPED), str(broken)])
    assert result.exit_code == 1
    assert f"INVALID {broken}" in result.output
    assert "'email'" in result.output


def test_routing_validate_checks_the_shipped_file_and_names_a_broken_rule(tmp_path: Path) -> None:
    shipped = SHIPPED_ROUTING_FILE
    result = CliRunner().invoke(main, ["routing", "validate", str(shipped)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and "teams" in result.output

    broken = tmp_path / "routing.yaml"
    broken.write_text(shipped.read_text(encoding="utf-8").replace("- team: quality", "- team: qualty", 1),
                      encoding="utf-8")
    result = CliRunner().invoke(main, ["routing", "validate", str(broken)])
    assert result.exit_code == 1
    assert "qualty" in result.output and str(broken) in result.output
