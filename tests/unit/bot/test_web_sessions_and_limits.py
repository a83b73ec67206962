"""Session signatures, one-time link tokens and token buckets, without a server."""

from __future__ import annotations

from bot.channels.rate_limits import Allowance, RateLimiter
from bot.channels.web_sessions import LINK_LIFETIME_SECONDS, WebSessions


def test_a_link_token_carries_the_session_unreadably_and_only_until_it_expires() -> None:
    sessions = WebSessions(b"secret", secure_cookies=False)
    session = sessions.mint()
    token = sessions.link_token(session, now=1_000_000)
    assert session not in token
    link = sessions.read_link(token, now=1_000_000 + LINK_LIFETIME_SECONDS - 1)
    assert link is not None and link.session == session
    assert sessions.read_link(token, now=1_000_000 + LINK_LIFETIME_SECONDS + 1) is None
    # Another server's secret, a changed character, a session swapped in: not a link.
    assert WebSessions(b"other", secure_cookies=False).read_link(token, now=1_000_000) is None
    masked, nonce, expires, signature = token.split(".")
    assert sessions.read_link(f"{masked}.{nonce}.{int(expires) + 999}.{signature}", now=1_000_000) is None
    assert sessions.read_link(f"{masked[::-1]}.{nonce}.{expires}.{signature}", now=1_000_000) is None
    assert sessions.read_link("", now=1_000_000) is None
    assert sessions.read_link("a.b.c.d.e", now=1_000_000) is None
    # Two links for one session do not look alike (fresh nonce, fresh mask).
    assert sessions.link_token(session, now=1_000_000).split(".")[0] != masked


def test_a_cookie_value_is_signed_per_secret() -> None:
    sessions = WebSessions(b"secret", secure_cookies=False)
    session = sessions.mint()
    value = sessions.cookie_value(session)
    assert value.startswith(session + ".")
    assert WebSessions(b"other", secure_cookies=False).cookie_value(session) != value


def test_a_bucket_allows_the_burst_then_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(Allowance(burst=3, per_seconds=2.0), clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == 2.0
    assert limiter.take("b") == 0.0  # another key has its own bucket
    now[0] = 2.0
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0


def test_the_least_recently_used_buckets_go_first() -> None:
    limiter = RateLimiter(Allowance(burst=1, per_seconds=60.0), max_keys=2, clock=lambda: 0.0)
    limiter.take("a")
    limiter.take("b")
    limiter.take("c")  # "a" is forgotten: it starts again with a full bucket
    assert limiter.take("a") == 0.0
    assert limiter.take("c") > 0
