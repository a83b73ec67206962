"""Flows through the API: drafts validated in full, publish, versions, diff in words, rollback, simulate, and
conversations that finish on the version they began with."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from tests.e2e.test_web_chat import ENGLISH
from tests.e2e.web_chat_driver import Say, WebCustomer, complete_flow
from tests.integration.admin.harness import AdminHarness

NEW_GREETING = {"en": "Hello from version two.", "zh": "这是第二版的问候。"}


async def published(admin: AdminHarness) -> dict[str, Any]:
    status, body = await admin.api("GET", "/flows/complaint", "editor")
    assert status == 200, body
    definition: dict[str, Any] = body["published"]
    return definition


def step(definition: dict[str, Any], step_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(item for item in definition["steps"] if item["id"] == step_id)
    return found


async def test_the_shipped_flow_is_version_1_in_the_database(admin: AdminHarness) -> None:
    status, body = await admin.api("GET", "/flows", "viewer")
    assert status == 200
    assert body["flows"] == [
        {"flow_id": "complaint", "title": {"en": "Complaint", "zh": "投诉"}, "published_version": 1,
         "has_draft": False}
    ]
    status, body = await admin.api("GET", "/flows/complaint", "viewer")
    assert [item["version"] for item in body["versions"]] == [1]
    assert body["draft"] is None
    assert body["published"]["start"] == "name"


async def test_a_broken_draft_is_refused_with_every_problem_on_its_step(admin: AdminHarness) -> None:
    definition = copy.deepcopy(await published(admin))
    step(definition, "name")["prompt"] = {"en": "Your name?"}  # the Chinese translation is missing
    step(definition, "contact_method")["next"] = [
        {"when": {"field": "contact_method", "equals": "email"}, "goto": "nowhere"},
        {"goto": "phone"},
    ]
    step(definition, "description")["max_length"] = 0
    step(definition, "occurred_at")["next"] = "later"
    status, body = await admin.api("PUT", "/flows/complaint/draft", "editor", json=definition)
    assert status == 422
    errors = body["errors"]
    assert {"step": "name", "field": "prompt.zh", "message": "missing zh translation"} in errors
    assert {"step": "description", "field": "max_length",
            "message": "Input should be greater than or equal to 1"} in errors
    assert len(errors) == 2, errors  # field problems first: the graph is checked once every step is well formed
    step(definition, "name")["prompt"] = {"en": "Your name?", "zh": "你的名字？"}
    step(definition, "description")["max_length"] = 500
    status, body = await admin.api("PUT", "/flows/complaint/draft", "editor", json=definition)
    assert status == 422
    assert body["errors"] == [
        {"step": "contact_method", "field": "next.0.goto", "message": "goto refers to unknown step 'nowhere'"},
        {"step": "occurred_at", "field": "next", "message": "next refers to unknown step 'later'"},
    ]
    status, body = await admin.api("GET", "/flows/complaint", "editor")
    assert body["draft"] is None  # nothing refused was stored


async def test_branching_on_an_answer_not_collected_yet_is_refused(admin: AdminHarness) -> None:
    definition = copy.deepcopy(await published(admin))
    step(definition, "name")["next"] = [
        {"when": {"field": "expected_resolution", "equals": "refund"}, "goto": "contact_method"},
        {"goto": "contact_method"},
    ]
    status, body = await admin.api("PUT", "/flows/complaint/draft", "editor", json=definition)
    assert status == 422
    assert body["errors"] == [{"step": "name", "field": "next.0.when.field",
                               "message": "'expected_resolution' is not always collected before this step"}]


async def test_draft_as_yaml_publish_diff_and_rollback(admin: AdminHarness) -> None:
    definition = copy.deepcopy(await published(admin))
    original_greeting = definition["greeting"]
    definition["greeting"] = NEW_GREETING
    step(definition, "name")["prompt"]["zh"] = "请问您贵姓？"
    body_yaml = yaml.safe_dump(definition, allow_unicode=True)
    status, body = await admin.api("PUT", "/flows/complaint/draft", "editor", data=body_yaml.encode(),
                                   headers={"Content-Type": "application/yaml"})
    assert status == 200, body
    assert body == {"flow_id": "complaint", "warnings": []}
    status, body = await admin.api("GET", "/flows/complaint", "viewer")
    assert body["draft"]["definition"]["greeting"] == NEW_GREETING
    assert body["published_version"] == 1

    status, body = await admin.api("POST", "/flows/complaint/publish", "editor")
    assert (status, body) == (200, {"version": 2})
    status, body = await admin.api("POST", "/flows/complaint/publish", "editor")
    assert status == 409  # the draft became version 2: nothing left to publish

    status, body = await admin.api("GET", "/flows/complaint/diff?from=1&to=2", "viewer")
    assert status == 200
    assert body["changes"] == ["greeting (en) changed", "greeting (zh) changed", "step `name`: prompt (zh) changed"]

    status, body = await admin.api("POST", "/flows/complaint/rollback", "editor", json={"version": 1})
    assert (status, body) == (200, {"version": 3})
    status, body = await admin.api("GET", "/flows/complaint/versions/3", "viewer")
    assert body["definition"]["greeting"] == original_greeting
    assert body["definition"]["version"] == 3
    status, body = await admin.api("GET", "/flows/complaint/versions/2", "viewer")
    assert body["definition"]["greeting"] == NEW_GREETING  # history is never rewritten
    status, body = await admin.api("GET", "/flows/complaint", "viewer")
    assert [(v["version"], v["published_by"]) for v in body["versions"]] == [
        (1, "seed"), (2, "token:editor-token"), (3, "token:editor-token")
    ]
    status, body = await admin.api("GET", "/flows/complaint/versions/9", "viewer")
    assert status == 404

    status, body = await admin.api("GET", "/audit?object=flow", "admin")
    actions = [entry["action"] for entry in body["entries"]]
    assert actions == ["flow.rolled_back", "flow.published", "flow.draft_saved"]
    saved = body["entries"][-1]
    assert saved["actor"] == "token:editor-token" and saved["via"] == "api" and saved["source_ip"] == "127.0.0.1"
    assert "greeting (en) changed" in saved["changes"]


async def test_diff_and_rollback_refuse_bad_input(admin: AdminHarness) -> None:
    status, body = await admin.api("GET", "/flows/complaint/diff?from=1", "viewer")
    assert status == 422 and body["errors"][0]["field"] == "to"
    status, body = await admin.api("POST", "/flows/complaint/rollback", "editor", json={"version": 0})
    assert status == 422 and body["errors"][0]["field"] == "version"
    status, body = await admin.api("POST", "/flows/complaint/rollback", "editor", data=b"{not json",
                                   headers={"Content-Type": "application/json"})
    assert status == 422 and body["errors"][0]["message"].startswith("the body is not valid JSON")


async def test_simulate_renders_as_the_channel_would_and_stores_nothing(admin: AdminHarness) -> None:
    from storage.models import Conversation, OutboxItem

    request = {"source": 1, "lang": "en", "channel": "wechat", "messages": ["hi", "Ada Lovelace"]}
    status, body = await admin.api("POST", "/flows/complaint/simulate", "viewer", json=request)
    assert status == 200, body
    second = body["turns"][1]
    assert second["step"] == "contact_method"
    # WeChat has no buttons: the options are numbered in the text.
    assert second["replies"][-1]["buttons"] == []
    assert "1. " in second["replies"][-1]["text"]
    request["channel"] = "telegram"
    status, body = await admin.api("POST", "/flows/complaint/simulate", "viewer", json=request)
    assert [b["value"] for b in body["turns"][1]["replies"][-1]["buttons"]][:2] == ["phone", "email"]
    assert await Conversation.all().count() == 0
    assert await OutboxItem.all().count() == 0


async def test_simulate_shows_the_nlp_proposals(admin: AdminHarness) -> None:
    messages = ["hi", "Ada", "email", "ada@example.com",
                "The screen of my new phone cracked two days after I bought it."]
    request = {"source": "draft", "lang": "en", "channel": "web", "messages": messages}
    status, body = await admin.api("POST", "/flows/complaint/simulate", "editor", json=request)
    assert status == 200, body
    proposals = body["turns"][-1]["proposals"]
    assert {proposal["field"] for proposal in proposals} >= {"product"}


async def test_a_conversation_finishes_on_the_version_it_began_with(admin: AdminHarness) -> None:
    early = WebCustomer(admin.client, "en-GB")
    await early.post(Say("hello"))
    assert "I'll take down your complaint" in early.text()  # version 1's greeting

    definition = copy.deepcopy(await published(admin))
    definition["greeting"] = NEW_GREETING
    step(definition, "name")["next"] = "contact_method"
    step(definition, "contact_method")["prompt"] = {"en": "V2: how do we reach you?", "zh": "第二版：怎么联系你？"}
    assert (await admin.api("PUT", "/flows/complaint/draft", "editor", json=definition))[0] == 200
    assert (await admin.api("POST", "/flows/complaint/publish", "editor"))[1] == {"version": 2}

    late = WebCustomer(admin.client, "en-GB")
    await late.post(Say("hello"))
    assert NEW_GREETING["en"] in late.text()

    await early.post(Say("Ada Lovelace"))
    assert "V2:" not in early.text()  # still version 1's question
    number = await complete_flow(early, {**ENGLISH, "name": Say("Ada Lovelace")}, "hello again")
    _status, body = await admin.api("GET", f"/cases/{number}", "supervisor")
    assert (body["flow_id"], body["flow_version"]) == ("complaint", 1)

    await late.post(Say("Grace Hopper"))
    assert "V2: how do we reach you?" in late.text()
