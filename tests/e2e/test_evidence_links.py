"""Agents open evidence from Slack through signed, expiring links; nobody else can."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import APPLICATION_KEY
from storage.models import Evidence
from tests.e2e.test_web_chat import ENGLISH
from tests.e2e.web_chat_driver import EVIDENCE, WebCustomer, complete_flow


async def test_a_signed_link_serves_the_exact_bytes_and_a_forged_one_is_refused(
    web_client: TestClient[Any, Any],
) -> None:
    await complete_flow(WebCustomer(web_client, locale="en"), ENGLISH, first="Hello")
    links = web_client.app[APPLICATION_KEY].evidence_links
    for row in await Evidence.all():
        url = links.url(row.id).split("/evidence/", 1)[1]
        response = await web_client.get(f"/evidence/{url}")
        assert response.status == 200
        assert await response.read() == EVIDENCE[row.file_name]
        assert response.headers["Content-Type"] == row.media_type

        forged = url.replace("sig=", "sig=0")
        assert (await web_client.get(f"/evidence/{forged}")).status == 403
        other = f"{row.id + 100}?{url.split('?', 1)[1]}"
        assert (await web_client.get(f"/evidence/{other}")).status == 403
        expired = links.url(row.id, now=0).split("/evidence/", 1)[1]
        assert (await web_client.get(f"/evidence/{expired}")).status == 403
    assert (await web_client.get("/evidence/1")).status == 403
