"""Every endpoint of /api/v1 refuses a caller without credentials (401) and a role without the right (403)."""

from __future__ import annotations

from bot.admin.api import ENDPOINTS, Endpoint
from bot.admin.roles import Role, allows
from tests.integration.admin.harness import AdminHarness

PATH_VALUES = {"flow_id": "complaint", "version": "1", "number": "PL-NOSUCH", "webhook_id": "999",
               "delivery_id": "999", "view_id": "999"}


def concrete(endpoint: Endpoint) -> str:
    path = endpoint.path
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    return path


async def test_without_credentials_every_endpoint_answers_401(admin: AdminHarness) -> None:
    for endpoint in ENDPOINTS:
        status, body = await admin.api(endpoint.method, concrete(endpoint), None, json={})
        assert status == 401, endpoint
        assert body["errors"][0]["message"].startswith("authentication required")
        status, _ = await admin.api(endpoint.method, concrete(endpoint), None,
                                    headers={"Authorization": "Bearer plt_not_a_token"}, json={})
        assert status == 401, endpoint


async def test_roles_without_the_permission_get_403_and_the_others_get_past_it(admin: AdminHarness) -> None:
    checked: list[Endpoint] = []
    for endpoint in ENDPOINTS:
        for role in Role:
            status, body = await admin.api(endpoint.method, concrete(endpoint), role.value, json={})
            if allows(role, endpoint.permission):
                assert status not in (401, 403), (endpoint.path, role, body)
            else:
                assert status == 403, (endpoint.path, role, body)
                assert role.value in body["errors"][0]["message"]
        checked.append(endpoint)
    assert len(checked) == len(ENDPOINTS) == 31


async def test_the_role_table_is_the_one_the_issue_defines(admin: AdminHarness) -> None:
    expectations = {
        # (method, path): roles that may
        ("PUT", "/flows/complaint/draft"): {"admin", "editor"},
        ("POST", "/cases/PL-NOSUCH/actions"): {"admin", "supervisor"},
        ("GET", "/cases"): {"admin", "supervisor", "viewer"},
        ("GET", "/audit"): {"admin"},
        ("GET", "/flows"): {"admin", "editor", "supervisor", "viewer"},
        ("PUT", "/catalog"): {"admin", "editor"},
        ("PUT", "/routing"): {"admin", "editor"},
        ("GET", "/sla-policies"): {"admin", "editor", "supervisor", "viewer"},
        ("GET", "/webhooks"): {"admin"},
        ("POST", "/case-views"): {"admin", "supervisor"},
    }
    for (method, path), allowed in expectations.items():
        for role in Role:
            status, _ = await admin.api(method, path, role.value, json={})
            assert (status != 403) == (role.value in allowed), (method, path, role, status)


async def test_a_revoked_token_is_refused(admin: AdminHarness) -> None:
    from datetime import UTC, datetime

    from storage.accounts import TortoiseAccounts

    assert (await admin.api("GET", "/flows", "viewer"))[0] == 200
    await TortoiseAccounts().revoke_token("viewer-token", datetime.now(UTC))
    assert (await admin.api("GET", "/flows", "viewer"))[0] == 401


async def test_unknown_api_paths_answer_json_404(admin: AdminHarness) -> None:
    status, body = await admin.api("GET", "/nothing/here", "admin")
    assert status == 404
    assert body == {"errors": [{"step": None, "field": None, "message": "no such API endpoint"}]}
