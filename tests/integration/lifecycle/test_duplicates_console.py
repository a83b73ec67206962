"""Duplicates in the admin console: a case with a possible duplicate shows Link / Not a duplicate (for roles that
act on cases), and pressing one is the same decision as the Slack buttons (the lifecycle room's service):
CSRF-checked, role-checked, audited, and refused once someone decided."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from storage.models import AuditEntry, CaseLink
from tests.integration.admin.harness import PASSWORD, AdminHarness, csrf_from, email_for, provision
from tests.integration.slack.complaint_driver import Answer, file_complaint
from tests.integration.slack.conftest import slack_api, start_plaint  # noqa: F401 (fixtures)
from tests.integration.slack.harness import (
    WEB_TEAM_CHANNEL,
    HarnessFactory,
    SlackHarness,
    file_web_case,
    posted_case_message,
)
from tests.waiting import eventually

# One database: the storage of duplicates is tested on every database in test_duplicates.py.
pytestmark = pytest.mark.one_database("sqlite")


class ConsoleUser:
    """A signed-in console user on a client without a cookie jar: the session cookie is carried by hand."""

    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client = client
        self.cookie = ""
        self.csrf = ""

    async def sign_in(self, role: str) -> None:
        response = await self.client.post(
            "/admin/login", data={"email": email_for(role), "password": PASSWORD, "next": "/admin/cases"},
            allow_redirects=False,
        )
        assert response.status == 303, await response.text()
        self.cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in response.cookies.items())
        self.csrf = csrf_from(await self.page("/admin/cases"))

    async def page(self, path: str) -> str:
        response = await self.client.get(path, headers={"Cookie": self.cookie})
        assert response.status == 200, response.status
        return await response.text()

    async def decide(self, number: str, decision: str, *, csrf: str | None = None) -> tuple[int, str]:
        response = await self.client.post(
            f"/admin/cases/{number}/duplicate", data={"csrf_token": self.csrf if csrf is None else csrf,
                                                       "decision": decision},
            headers={"Cookie": self.cookie}, allow_redirects=False,
        )
        return response.status, await response.text()


async def repeat_of_one_case(plaint: SlackHarness) -> tuple[str, str]:
    """The same web customer files the same complaint twice: the second is a possible duplicate of the first."""
    session = uuid.uuid4().hex
    first = await file_web_case(plaint, session)
    await posted_case_message(plaint, first)
    second = await file_complaint(plaint.web_sender(session), Answer(text="new complaint"))
    await posted_case_message(plaint, second)

    async def suggested() -> bool:
        return await CaseLink.exists(case__number=second, status="suggested")

    await eventually(suggested, what="the repeat noticed")
    return first, second


async def test_link_from_the_console_is_the_slack_buttons_decision_and_is_audited(
    start_plaint: HarnessFactory,  # noqa: F811
) -> None:
    plaint = await start_plaint()
    await provision(AdminHarness(plaint.client))
    first, second = await repeat_of_one_case(plaint)

    viewer = ConsoleUser(plaint.client)
    await viewer.sign_in("viewer")
    page = await viewer.page(f"/admin/cases/{second}")
    assert 'id="case-possible-duplicate"' in page and f'href="/admin/cases/{first}"' in page
    assert 'id="duplicate-link"' not in page  # a viewer sees it but cannot decide
    assert (await viewer.decide(second, "link"))[0] == 403

    supervisor = ConsoleUser(plaint.client)
    await supervisor.sign_in("supervisor")
    page = await supervisor.page(f"/admin/cases/{second}")
    assert 'id="duplicate-link"' in page and 'id="duplicate-not"' in page and f"Link to {first}" in page
    assert (await supervisor.decide(second, "link", csrf="forged"))[0] == 403
    assert (await supervisor.decide(second, "maybe"))[0] == 422
    assert await CaseLink.exists(case__number=second, status="suggested")

    status, _ = await supervisor.decide(second, "link")
    assert status == 303
    repeat = await plaint.wait_for_case(second, lambda case: case.status == "resolved", "the repeat resolved")
    assert repeat.resolution_code == "duplicate" and repeat.linked_cases == (first,)
    assert (await plaint.case(first)).linked_cases == (second,)
    [entry] = await AuditEntry.filter(action="case.duplicate_link", object_id=second)
    assert entry.actor == email_for("supervisor") and entry.after == {"linked_to": first}

    # The thread hears who decided, by name (a console user has no Slack id to mention).
    async def told_thread() -> bool:
        return any(f"{email_for('supervisor')}" in str(call.params.get("text"))
                   for call in plaint.api.calls_to("chat.postMessage", WEB_TEAM_CHANNEL))

    await eventually(told_thread, what="the thread told of the link")
    # Decided: the buttons are gone and a second decision is refused, the first one standing.
    assert 'id="duplicate-link"' not in await supervisor.page(f"/admin/cases/{second}")
    status, body = await supervisor.decide(second, "not_duplicate")
    assert status == 409 and "no undecided possible duplicate" in body
    assert await CaseLink.exists(case__number=second, status="linked")
    assert not await AuditEntry.exists(action="case.not_duplicate")


async def test_not_a_duplicate_from_the_console_keeps_the_case_open(
    start_plaint: HarnessFactory,  # noqa: F811
) -> None:
    plaint = await start_plaint()
    await provision(AdminHarness(plaint.client))
    first, second = await repeat_of_one_case(plaint)
    supervisor = ConsoleUser(plaint.client)
    await supervisor.sign_in("supervisor")
    assert (await supervisor.decide(second, "not_duplicate"))[0] == 303
    assert await CaseLink.exists(case__number=second, status="not_duplicate")
    case = await plaint.case(second)
    assert case.status == "new" and case.linked_cases == ()
    [entry] = await AuditEntry.filter(action="case.not_duplicate", object_id=second)
    assert entry.after == {"not_duplicate_of": first}
