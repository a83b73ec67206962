"""`plaint admin ...` and `plaint flows import/export` as an operator runs them, in a separate process."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import yaml

from bot.admin.passwords import verify_password
from bot.config import Settings
from storage.accounts import TortoiseAccounts
from storage.audit import AuditFilter, TortoiseAuditLog
from storage.database import open_database
from tests.e2e.test_processes import ROOT, plaint_env


async def run(settings: Settings, *arguments: str, stdin: str = "") -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *arguments, cwd=ROOT, env=plaint_env(settings),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate(stdin.encode())
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_create_user_tokens_and_the_audit_trail(settings: Settings) -> None:
    code, out, err = await run(settings, "admin", "create-user", "Ada@Example.com", "--role", "editor",
                               "--password-stdin", stdin="a long enough secret\n")
    assert code == 0, err
    assert "user ada@example.com created with role editor" in out
    code, _, err = await run(settings, "admin", "create-user", "ada@example.com", "--role", "viewer",
                             "--password-stdin", stdin="another long secret\n")
    assert code == 1 and "already exists" in err
    code, _, err = await run(settings, "admin", "create-user", "bob@example.com", "--role", "viewer",
                             "--password-stdin", stdin="short\n")
    assert code == 1 and "at least 12 characters" in err
    code, _, err = await run(settings, "admin", "create-user", "bob@example.com", "--role", "king",
                             "--password-stdin", stdin="a long enough secret\n")
    assert code == 2 and "king" in err

    code, token, err = await run(settings, "admin", "token", "create", "ci", "--role", "viewer")
    assert code == 0, err
    token = token.strip()
    assert token.startswith("plt_") and len(token) > 40
    async with open_database(settings.effective_database_url):
        accounts = TortoiseAccounts()
        user = await accounts.user_by_email("ada@example.com")
        assert user is not None and user.role == "editor"
        assert user.password_hash.startswith("$argon2id$")
        assert await verify_password(user.password_hash, "a long enough secret")
        found = await accounts.token_for_secret(token)
        assert found is not None and found.role == "viewer"
    code, out, err = await run(settings, "admin", "token", "revoke", "ci")
    assert code == 0 and "revoked" in out, err
    code, _, err = await run(settings, "admin", "token", "revoke", "nobody")
    assert code == 1 and "no token named 'nobody'" in err
    async with open_database(settings.effective_database_url):
        assert await TortoiseAccounts().token_for_secret(token) is None
        page = await TortoiseAuditLog().page(AuditFilter(), 10)
        assert [entry.action for entry in page.entries] == ["token.revoked", "token.created", "user.created"]
        assert all(entry.actor.startswith("cli:") and entry.via == "cli" for entry in page.entries)
        assert token not in str(page)
    code, out, err = await run(settings, "admin", "prune-audit", "--older-than-days", "1")
    assert (code, out.strip()) == (0, "deleted 0 audit entries older than 1 days"), err


async def test_flows_export_and_import(settings: Settings, tmp_path: Path) -> None:
    code, out, err = await run(settings, "flows", "export", "complaint")
    assert code == 0, err
    exported = yaml.safe_load(out)
    assert exported["id"] == "complaint" and exported["version"] == 1
    exported["greeting"] = {"en": "Imported greeting", "zh": "导入的问候"}
    source = tmp_path / "complaint.yaml"
    source.write_text(yaml.safe_dump(exported, allow_unicode=True), encoding="utf-8")
    code, out, err = await run(settings, "flows", "import", str(source))
    assert (code, out.strip()) == (0, "flow complaint: published version 2"), err
    code, _, err = await run(settings, "flows", "export", "complaint", "--version", "2", "--out",
                             str(tmp_path / "v2.yaml"))
    assert code == 0, err
    assert yaml.safe_load((tmp_path / "v2.yaml").read_text(encoding="utf-8"))["greeting"]["zh"] == "导入的问候"

    broken = dict(exported, start="nowhere")
    broken["steps"] = [dict(step) for step in exported["steps"]]
    broken["steps"][0]["prompt"] = {"en": "Name?"}
    source.write_text(yaml.safe_dump(broken, allow_unicode=True), encoding="utf-8")
    code, _, err = await run(settings, "flows", "import", str(source))
    assert code == 1
    assert "step name: prompt.zh: missing zh translation" in err
    code, _, err = await run(settings, "flows", "export", "nothing")
    assert code == 1 and "no flow 'nothing'" in err
