"""A whole complaint in a real browser on a phone (390x844), in English and in Chinese, as a customer taps and
types it: a wrong answer re-asked as an error, a 21 MB file refused before a byte is sent, two uploads, an edit
from the summary, a cancel that is cancelled, the case filed, `status` after it, and the link that moves the
conversation to another device. Screenshots are saved as test artefacts (see the `artefacts` fixture)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from bot.analysis import ThreadedAnalyzer
from bot.app import build_app
from bot.channels.web_sessions import COOKIE_NAME
from bot.config import Settings
from storage.models import ChannelIdentity, Conversation
from tests.e2e.web_chat_driver import JPEG, PDF
from tests.serving import serving

pytestmark = pytest.mark.one_database("sqlite")

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Browser, BrowserContext, Locator, Page, Request

PHONE = {"width": 390, "height": 844}
MEBIBYTE = 1024 * 1024


@pytest_asyncio.fixture
async def chat(settings: Settings, analyzer: ThreadedAnalyzer) -> AsyncIterator[str]:
    async with serving(build_app(settings, analyzer)) as url:
        yield url


@dataclass(frozen=True)
class Story:
    locale: str
    greeting: str
    name: str
    not_a_choice: str
    refused_reason: str
    short_question: str
    contact: str
    phone: str
    description: str
    when: str
    edited_when: str
    when_label: str
    resolution: str
    too_large: str
    summary: str
    cancel_asked: str
    keep_going: str
    status: str
    status_line: str
    handoff: str


ENGLISH = Story(
    locale="en-GB", greeting="First, what's your name?", name="Maria Lopez", not_a_choice="by carrier pigeon",
    refused_reason="Please pick one of the options", short_question="How should we get back to you?",
    contact="Phone", phone="+1 201 555 0123", description="My tumble dryer stopped heating after two weeks.",
    when="yesterday 3pm", edited_when="2 days ago", when_label="When: ", resolution="Repair",
    too_large="big.mp4 is too large (21.0 MB): each file may be at most 20 MB. Nothing was uploaded.",
    summary="Here's your complaint", cancel_asked="Cancel this complaint?", keep_going="No, keep going",
    status="status", status_line=" — received (filed ",
    handoff="Open this link on your other device to continue this conversation there:",
)
CHINESE = Story(
    locale="zh-CN", greeting="首先，请问怎么称呼你？", name="李娜", not_a_choice="随便吧",
    refused_reason="请从选项中选择一个", short_question="我们该怎么联系你？",
    contact="电话", phone="13800138000", description="我的干衣机用了两个星期就不加热了。",
    when="昨天下午三点", edited_when="两天前", when_label="时间：", resolution="维修",
    too_large="big.mp4 太大了（21.0 MB），每个文件不能超过 20 MB。没有上传。",
    summary="以下是你的投诉内容", cancel_asked="确定取消这次投诉吗？", keep_going="不，继续",
    status="进度", status_line="：已受理（", handoff="在你的另一台设备上打开这个链接，即可在那里继续本次对话：",
)


async def session_of(context: BrowserContext) -> str:
    value = next(cookie["value"] for cookie in await context.cookies() if cookie["name"] == COOKIE_NAME)
    return value.strip('"').split(".", 1)[0]


async def step_of(context: BrowserContext) -> str | None:
    """Where the conversation stands (the test's oracle for its next answer; the customer reads the page)."""
    identity = await ChannelIdentity.get(channel="web", sender_id=await session_of(context))
    row = await Conversation.filter(identity_id=identity.id).order_by("-id").first()
    return row.step_id if row is not None and row.status == "active" else None


async def answered(page: Page, act: Any) -> Locator:
    """Do something (type, tap, upload); the bot's newest bubble once it answered."""
    before = await page.locator(".msg.bot").count()
    await act()
    # A locator wait, not wait_for_function: the chat page's CSP forbids eval.
    await page.locator(".msg.bot").nth(before).wait_for()
    return page.locator(".msg.bot").last


async def send(page: Page, text: str) -> Locator:
    async def act() -> None:
        await page.fill("#text", text)
        await page.click("#send")

    return await answered(page, act)


async def tap(page: Page, button: Locator) -> Locator:
    return await answered(page, button.click)


async def upload(page: Page, name: str, mime: str, data: bytes) -> Locator:
    return await answered(page, lambda: page.set_input_files("#files", files=[
        {"name": name, "mimeType": mime, "buffer": data}
    ]))


async def is_error(bubble: Locator) -> bool:
    return "error" in ((await bubble.get_attribute("class")) or "") and await bubble.get_attribute("role") == "alert"


@pytest.mark.parametrize("story", [ENGLISH, CHINESE], ids=["en", "zh"])
async def test_a_whole_complaint_on_a_phone(browser: Browser, chat: str, artefacts: Path, story: Story) -> None:
    context = await browser.new_context(viewport=PHONE, locale=story.locale)  # type: ignore[arg-type]
    page = await context.new_page()
    posts: list[Request] = []
    page.on("request", lambda request: posts.append(request)
            if request.method == "POST" and request.url.endswith("/chat/api/message") else None)
    await page.goto(f"{chat}/chat")
    await page.get_by_text(story.greeting).wait_for()

    # A normal question is no error; a wrong answer is re-asked as one: marked, the reason first, the question short.
    question = await send(page, story.name)
    assert not await is_error(question)
    assert await question.locator(".reason").count() == 0
    reask = await send(page, story.not_a_choice)
    assert await is_error(reask)
    reason = reask.locator(".reason")
    assert (await reason.inner_text()).startswith(story.refused_reason)
    assert await reason.locator("svg").count() == 1  # the icon: not colour alone
    colours = await reask.evaluate(
        "node => [getComputedStyle(node).borderLeftColor, getComputedStyle(node.querySelector('.reason')).color]"
    )
    assert colours == ["rgb(176, 0, 32)", "rgb(138, 16, 32)"]
    lines = (await reask.inner_text()).split("\n")
    assert lines[0].startswith(story.refused_reason) and lines[1] == story.short_question
    await page.screenshot(path=str(artefacts / f"reask-{story.locale}.png"))
    reply = await tap(page, reask.get_by_role("button", name=story.contact, exact=True))
    assert not await is_error(reply)

    for text in (story.phone, story.description, story.when):
        reply = await send(page, text)
    uploads = 0
    for _ in range(12):
        step = await step_of(context)
        if step == "confirm":
            break
        if step == "occurred_where":
            reply = await tap(page, reply.locator("[data-role=skip]"))
        elif step in ("product", "category"):
            yes = reply.locator("[data-role=yes]")
            reply = await tap(page, yes if await yes.count() else reply.locator(".buttons button").first)
        elif step == "evidence" and uploads == 0:
            # 21 MB against the server's 20 MB: refused on the phone, in the customer's language, nothing sent.
            sent = len(posts)
            await page.set_input_files("#files", files=[
                {"name": "big.mp4", "mimeType": "video/mp4", "buffer": bytes(21 * MEBIBYTE)}
            ])
            refused = page.locator(".msg.me.failed", has_text="big.mp4")
            await refused.wait_for()
            assert await refused.locator("[role=alert]").inner_text() == story.too_large
            assert len(posts) == sent, "the refused file was posted"
            # Two uploads, one after the other; each is acknowledged.
            reply = await upload(page, "crack.jpg", "image/jpeg", JPEG)
            reply = await upload(page, "receipt.pdf", "application/pdf", PDF)
            assert "2" in await reply.inner_text()
            assert len(posts) == sent + 2
            uploads = 2
        elif step == "evidence":
            reply = await tap(page, reply.locator("[data-role=done]"))
        elif step == "expected_resolution":
            reply = await tap(page, reply.locator(".buttons button", has_text=story.resolution))
        else:
            raise AssertionError(f"unexpected step {step}: {await reply.inner_text()}")
    assert uploads == 2
    summary = reply
    assert story.summary in await summary.inner_text()
    assert "crack.jpg" in await summary.inner_text() and "receipt.pdf" in await summary.inner_text()

    # An edit from the summary: Edit… opens the fields; the date is changed; the summary comes back with it.
    before = (await summary.inner_text()).split("\n")
    await summary.locator("[data-role=edit-menu]").click()
    await tap(page, summary.locator("[data-value='_edit:occurred_at']"))
    summary = await send(page, story.edited_when)
    after = (await summary.inner_text()).split("\n")
    assert story.summary in after[0]
    # Only the date changed, and a date named without a time is shown without one ("yesterday 3pm" had 15:00).
    [old_when] = [line for line in before if line not in after]
    [new_when] = [line for line in after if line not in before]
    assert "15:00" in old_when and ":" not in new_when.split(story.when_label, 1)[1]

    # Cancel asks first; "no" keeps everything.
    await summary.locator("[data-role=cancel]").click()
    assert story.cancel_asked in await summary.inner_text()
    await page.screenshot(path=str(artefacts / f"cancel-asked-{story.locale}.png"))
    await summary.get_by_role("button", name=story.keep_going).click()
    assert story.cancel_asked not in await summary.inner_text()
    await page.screenshot(path=str(artefacts / f"summary-{story.locale}.png"), full_page=True)

    filed = await tap(page, summary.locator("[data-role=confirm]"))
    number = await page.evaluate("localStorage.getItem('plaint.case')")
    assert number and number.startswith("PL-") and number in await filed.inner_text()

    # Status after filing answers, and does not start a new complaint.
    reply = await send(page, story.status)
    log = await page.locator("#log").inner_text()
    assert f"{number}{story.status_line}" in log
    assert await reply.locator("[data-role=new_complaint]").count() == 1
    assert await step_of(context) is None
    await page.screenshot(path=str(artefacts / f"status-{story.locale}.png"), full_page=True)

    # The link to another device is offered in the customer's language.
    await page.click("#handoff")
    await page.locator("#handoffUrl").wait_for()
    assert await page.locator("#handoffText").inner_text() == story.handoff
    await context.close()


async def test_the_one_time_link_from_the_page_moves_the_conversation_once(browser: Browser, chat: str,
                                                                           artefacts: Path) -> None:
    laptop = await browser.new_context(viewport=PHONE, locale="en-GB")  # type: ignore[arg-type]
    page = await laptop.new_page()
    await page.goto(f"{chat}/chat")
    await page.locator(".msg.bot").first.wait_for()
    await send(page, "Grace Hopper")

    await page.click("#handoff")
    assert await page.get_attribute("#handoff", "aria-expanded") == "true"
    url_box = page.locator("#handoffUrl")
    await url_box.wait_for()
    link = await url_box.input_value()
    assert link.startswith(f"{chat}/chat/resume?token=")
    # The session never travels in the URL: the token carries it masked.
    assert await session_of(laptop) not in link
    assert "once" in await page.locator("#handoffNote").inner_text()
    await page.screenshot(path=str(artefacts / "handoff-en.png"))

    phone = await browser.new_context(viewport=PHONE, locale="en-GB")  # type: ignore[arg-type]
    other = await phone.new_page()
    await other.goto(link)
    await other.get_by_text("Grace Hopper").wait_for()
    assert other.url == f"{chat}/chat"
    assert await session_of(phone) == await session_of(laptop)
    # The resumed conversation goes on from the second device.
    reply = await send(other, "Phone")
    assert "phone number" in await reply.inner_text()

    third = await browser.new_context()
    response = await (await third.new_page()).goto(link)
    assert response is not None and response.status == 410
    for context in (laptop, phone, third):
        await context.close()


async def test_labels_follow_a_switch_to_chinese(browser: Browser, chat: str, artefacts: Path) -> None:
    context = await browser.new_context(viewport=PHONE, locale="en-GB")  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(f"{chat}/chat")
    await page.locator(".msg.bot").first.wait_for()
    for text in ("Ada Lovelace", "Email", "ada@example.com", "My tumble dryer stopped heating after two weeks."):
        reply = await send(page, text)
    # The product is known in English by now (noted from the description, or proposed later); switch.
    reply = await answered(page, lambda: page.click("#langs button[data-lang=zh]"))
    for _ in range(8):
        step = await step_of(context)
        if step == "confirm":
            break
        if step == "occurred_at":
            reply = await send(page, "昨天")
        elif step in ("occurred_where", "evidence"):
            reply = await tap(page, reply.locator("[data-role=skip]"))
        elif step in ("product", "category"):
            yes = reply.locator("[data-role=yes]")
            reply = await tap(page, yes if await yes.count() else reply.locator(".buttons button").first)
        elif step == "expected_resolution":
            reply = await tap(page, reply.locator(".buttons button", has_text="维修"))
        else:
            raise AssertionError(f"unexpected step {step}")
    summary = await reply.inner_text()
    assert "以下是你的投诉内容" in summary
    assert "干衣机" in summary and "Tumble dryer" not in summary
    await page.screenshot(path=str(artefacts / "summary-switched-zh.png"), full_page=True)
    await context.close()
