"""`plaint flows schema` prints the JSON Schema editors use to check flow YAML as it is typed."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bot.cli import main


def test_flows_schema_prints_the_flow_json_schema() -> None:
    result = CliRunner().invoke(main, ["flows", "schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert {"id", "start", "steps"} <= set(schema["properties"])
    # Every step kind is described, with the slot-filling settings.
    text = json.dumps(schema)
    for kind in ("text", "choice", "email", "phone", "datetime", "files", "proposal", "confirm", "end"):
        assert f'"const": "{kind}"' in text
    assert '"extract"' in text and '"implied_by"' in text and '"fill_from_story"' in text
