"""A customer on the web chat: posts what a browser posts and reads what it gets back."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from bot.channels.web_sessions import COOKIE_NAME
from storage.models import ChannelIdentity, Conversation

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 20 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n"
EVIDENCE = {"crack.jpg": JPEG, "receipt.pdf": PDF}
EVIDENCE_SHA256 = {name: hashlib.sha256(data).hexdigest() for name, data in EVIDENCE.items()}


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Press:
    value: str


@dataclass(frozen=True)
class Upload:
    files: dict[str, bytes]


Action = Say | Press | Upload


@dataclass
class WebCustomer:
    """One browser: it keeps the session cookie the server issues with its first answer and sends it back
    (the client's own cookie jar is not used, so several customers can share one client)."""

    client: TestClient[Any, Any]
    locale: str
    cookie: str | None = None
    replies: list[dict[str, Any]] = field(default_factory=list)
    case_number: str | None = None

    @property
    def session(self) -> str:
        """The server-issued session id (the conversation's sender id), once the server issued one."""
        assert self.cookie is not None, "no session yet: the customer has not sent anything"
        return self.cookie.split(".", 1)[0]

    def cookies(self) -> dict[str, str]:
        return {"Cookie": f"{COOKIE_NAME}={self.cookie}"} if self.cookie else {}

    def remember(self, response: aiohttp.ClientResponse) -> None:
        morsel = response.cookies.get(COOKIE_NAME)
        if morsel is not None:
            self.cookie = morsel.value
        # A client with a cookie jar (an admin's, logged in) must not hand this session to the next customer.
        self.client.session.cookie_jar.clear(lambda cookie: cookie.key == COOKIE_NAME)

    async def transcript(self, after: int = 0) -> list[dict[str, Any]]:
        response = await self.client.get("/chat/api/messages", params={"after": after}, headers=self.cookies())
        assert response.status == 200, await response.text()
        self.remember(response)
        messages: list[dict[str, Any]] = (await response.json())["messages"]
        return messages

    async def post(self, action: Action, message_id: str | None = None) -> dict[str, Any]:
        fields = {"message_id": message_id or uuid.uuid4().hex, "locale": self.locale}
        # As the page posts: a plain form, multipart only when files go with the message.
        form: aiohttp.FormData | dict[str, str] = fields
        if isinstance(action, Say):
            fields["text"] = action.text
        elif isinstance(action, Press):
            fields["choice"] = action.value
        else:
            form = aiohttp.FormData(fields)
            for name, data in action.files.items():
                form.add_field("file", data, filename=name, content_type="application/octet-stream")
        response = await self.client.post("/chat/api/message", data=form, headers=self.cookies())
        assert response.status == 200, await response.text()
        self.remember(response)
        result: dict[str, Any] = await response.json()
        self.replies = result["replies"]
        self.case_number = self.case_number or result["case_number"]
        return result

    def buttons(self) -> list[str]:
        return [button["value"] for reply in self.replies for button in reply["buttons"]]

    def text(self) -> str:
        return "\n".join(reply["text"] for reply in self.replies)

    async def step(self) -> str | None:
        """Where the conversation stands (the test's oracle for choosing the next answer)."""
        identity = await ChannelIdentity.get(channel="web", sender_id=self.session)
        row = await Conversation.filter(identity_id=identity.id).order_by("-id").first()
        assert row is not None
        return row.step_id if row.status == "active" else None


Policy = Callable[["WebCustomer"], Action]


def accept_proposal_or(answer: Action) -> Policy:
    """Confirm the NLP's proposal with one tap when there is one, else answer in words."""

    def choose(customer: WebCustomer) -> Action:
        return Press("_yes") if "_yes" in customer.buttons() else answer

    return choose


async def complete_flow(customer: WebCustomer, answers: dict[str, Action | Policy], first: str) -> str:
    await customer.post(Say(first))
    uploaded = False
    for _ in range(40):
        step = await customer.step()
        if step is None:
            break
        if step == "evidence":
            action: Action = Press("_done") if uploaded else Upload(EVIDENCE)
            uploaded = True
        else:
            answer = answers[step]
            action = answer(customer) if callable(answer) else answer
        await customer.post(action)
    assert customer.case_number, customer.text()
    return customer.case_number
