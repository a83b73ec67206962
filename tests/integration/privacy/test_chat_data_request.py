"""A customer asks in the chat to have their data deleted ("delete my data" / "删除我的数据"): they get a reference
in their language, and the request reaches the admins as a case (category data_erasure_request) that names
who asked, so the DPO can carry it out."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from flows.engine import DATA_ERASURE_CATEGORY
from storage.models import Case, Conversation
from storage.privacy import SubjectQuery, find_subject
from tests.e2e.conftest import web_client  # noqa: F401  (the fixture)
from tests.e2e.web_chat_driver import Say, WebCustomer


@pytest.mark.one_database("sqlite")
async def test_delete_my_data_in_the_chat_reaches_the_admins_as_a_case(
    web_client: TestClient[Any, Any],  # noqa: F811
) -> None:
    chinese = WebCustomer(web_client, locale="zh-CN")
    await chinese.post(Say("删除我的数据！"))
    number = chinese.case_number
    assert number is not None
    assert f"我们已收到你删除个人数据的请求（编号 {number}）" in chinese.text()
    request = await Case.get(number=number)
    assert (request.category, request.lang, request.channel, request.status) == (
        DATA_ERASURE_CATEGORY, "zh", "web", "new")
    assert request.description == "删除我的数据！" and request.extra == {"data_request": "erase"}
    # The case names who asked: the DPO finds everything of theirs from it.
    subject = await find_subject(SubjectQuery(channel=request.channel, sender_id=request.sender_id))
    assert request.id in subject.case_ids

    # In the middle of a complaint: the complaint being written is cancelled, only the request is filed.
    english = WebCustomer(web_client, locale="en-GB")
    await english.post(Say("Hello, my kettle is broken"))
    await english.post(Say("Delete my data"))
    assert english.case_number is not None
    assert f"We have received your request to delete your personal data (reference {english.case_number})" in (
        english.text())
    cases = await Case.filter(sender_id=english.session)
    assert [(case.number, case.category) for case in cases] == [(english.case_number, DATA_ERASURE_CATEGORY)]
    conversation = await Conversation.filter(identity__sender_id=english.session).order_by("-id").first()
    assert conversation is not None and conversation.status == "cancelled"

    # Afterwards the chat works as before: a new message starts a complaint.
    await english.post(Say("My toaster burns everything"))
    assert await english.step() is not None
