"""Console sign-in: sessions in HttpOnly SameSite cookies, CSRF on every form and on API calls made with the
cookie, rate-limited failed logins, the language switch."""

from __future__ import annotations

from tests.integration.admin.harness import PASSWORD, AdminHarness, csrf_from, email_for


async def test_pages_need_a_session_and_login_sets_a_strict_httponly_cookie(admin: AdminHarness) -> None:
    response = await admin.client.get("/admin/flows", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/admin/login?next=")
    response = await admin.client.post(
        "/admin/login", data={"email": email_for("editor"), "password": PASSWORD, "next": "/admin/flows"},
        allow_redirects=False,
    )
    assert response.status == 303 and response.headers["Location"] == "/admin/flows"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "plaint_admin=" in cookie
    page = await admin.client.get("/admin/flows")
    assert page.status == 200
    html = await page.text()
    assert "complaint" in html and "editor@plaint.example" in html
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")


async def test_a_login_never_redirects_off_site(admin: AdminHarness) -> None:
    response = await admin.client.post(
        "/admin/login", data={"email": email_for("viewer"), "password": PASSWORD, "next": "https://evil.example/"},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/admin"


async def test_forms_and_cookie_api_calls_without_the_csrf_token_are_refused(admin: AdminHarness) -> None:
    csrf = await admin.login("editor")
    response = await admin.client.post("/admin/flows/complaint/publish", data={})
    assert response.status == 403
    assert "expired" in await response.text()
    response = await admin.client.post("/admin/flows/complaint/publish", data={"csrf_token": "forged"})
    assert response.status == 403
    # The API with the session cookie: unsafe methods must send the token in X-CSRF-Token.
    status, body = await admin.api("POST", "/flows/complaint/rollback", None, json={"version": 1})
    assert status == 403 and "CSRF" in body["errors"][0]["message"]
    status, body = await admin.api("POST", "/flows/complaint/rollback", None, json={"version": 1},
                                   headers={"X-CSRF-Token": csrf})
    assert (status, body) == (200, {"version": 2})
    status, _ = await admin.api("GET", "/flows", None)
    assert status == 200  # reading needs no token


async def test_failed_logins_are_rate_limited_even_for_the_right_password(admin: AdminHarness) -> None:
    for _ in range(5):
        response = await admin.client.post("/admin/login", data={"email": email_for("admin"), "password": "wrong"})
        assert response.status == 401
        assert "Wrong email or password" in await response.text()
    response = await admin.client.post("/admin/login", data={"email": email_for("admin"), "password": PASSWORD})
    assert response.status == 429
    # Another account from the same address still signs in (the per-address limit is higher).
    await admin.login("viewer")


async def test_logout_ends_the_session_on_the_server(admin: AdminHarness) -> None:
    csrf = await admin.login("viewer")
    response = await admin.client.post("/admin/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert response.status == 303
    from storage.models import AdminSession

    assert await AdminSession.all().count() == 0


async def test_the_console_speaks_chinese_after_the_switch(admin: AdminHarness) -> None:
    await admin.login("editor")
    response = await admin.client.get("/admin/lang/zh?next=/admin/flows")
    html = await response.text()
    assert "流程" in html and "已发布版本" in html
    csrf_from(html)


async def test_the_editor_page_shows_errors_on_the_step_they_concern(admin: AdminHarness) -> None:
    csrf = await admin.login("editor")
    page = await admin.client.get("/admin/flows/complaint")
    html = await page.text()
    assert '<svg class="flow-graph"' in html and 'name="step.name.prompt.zh"' in html
    form = {
        "csrf_token": csrf,
        "greeting.en": "Welcome!", "greeting.zh": "欢迎！",
        "step.name.next.0.field": "", "step.name.next.0.equals": "", "step.name.next.0.goto": "no_such_step",
    }
    response = await admin.client.post("/admin/flows/complaint/check", data=form)
    fragment = await response.text()
    assert 'id="problems-step-name"' in fragment
    name_box = fragment.split('id="problems-step-name"')[1].split("</ul>")[0]
    assert "next refers to unknown step" in name_box
    response = await admin.client.post("/admin/flows/complaint/draft", data=form)
    assert response.status == 422
    form["step.name.next.0.goto"] = "contact_method"
    response = await admin.client.post("/admin/flows/complaint/draft", data=form, allow_redirects=False)
    assert response.status == 303
    _status, body = await admin.api("GET", "/flows/complaint", "viewer")
    assert body["draft"]["definition"]["greeting"] == {"en": "Welcome!", "zh": "欢迎！"}


async def test_an_editor_writes_why_a_step_is_asked_and_the_customer_reads_it(admin: AdminHarness) -> None:
    csrf = await admin.login("editor")
    html = await (await admin.client.get("/admin/flows/complaint")).text()
    # Every step that asks something offers the text, filled where the flow has one.
    assert 'name="step.occurred_where.why.en"' in html and "reaches the store or team" in html
    form = {"csrf_token": csrf, "step.name.why.en": "We address you by name.",
            "step.name.why.zh": "我们会称呼你的名字。"}
    response = await admin.client.post("/admin/flows/complaint/draft", data=form, allow_redirects=False)
    assert response.status == 303
    _status, body = await admin.api("GET", "/flows/complaint", "viewer")
    steps = {step["id"]: step for step in body["draft"]["definition"]["steps"]}
    assert steps["name"]["why"] == {"en": "We address you by name.", "zh": "我们会称呼你的名字。"}
    assert steps["occurred_where"]["why"]["en"].startswith("So your complaint reaches")  # kept
    status, body = await admin.api("POST", "/flows/complaint/simulate", "editor",
                                   json={"source": "draft", "lang": "en", "channel": "web",
                                         "messages": ["hello", "why do you need my name?"]})
    assert status == 200, body
    assert "We address you by name." in str(body["turns"][-1])
