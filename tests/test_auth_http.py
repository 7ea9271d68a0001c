"""Logging in and out, sessions, rate limits, CSRF, password reset and language, through HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal.accounts.tables import PasswordResetToken, User
from portal.core.errors import CSRF_MESSAGE
from portal.core.sessions import COOKIE_NAME
from portal.invitations.tables import Invitation
from tests.support import (
    PASSWORD,
    Browser,
    csrf_token,
    everywhere,
    link_in,
    login,
    make_tenant,
    make_user,
    nl,
    outbox,
    post_form,
)

EMAIL = "anna@alpha.example"
NEW_PASSWORD = "a-brand-new-secret-42"


async def anna():
    tenant = await make_tenant("alpha", name="Gemeente Alpha")
    return await make_user(EMAIL, tenant=tenant, roles=("panel_member",), name="Anna")


async def try_login(client, email: str, password: str, **extra):
    return await post_form(
        client, "/login", {"email": email, "password": password, **extra}, follow_redirects=False
    )


async def can_open_tenant_page(client, session_id: str) -> bool:
    """Whether another browser that presents ``session_id`` is logged in with it."""
    response = await Browser(client, **{COOKIE_NAME: session_id}).get(
        "/t/alpha/", follow_redirects=False
    )
    if response.status_code == 200:
        return True
    assert response.status_code in (302, 303), response.status_code
    assert response.headers["location"].startswith("/login?next=")
    return False


# --- logging in -------------------------------------------------------------------------------


async def test_login_sets_a_safe_session_cookie_and_lists_spaces(client):
    await anna()
    response = await try_login(client, EMAIL, PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(f"{COOKIE_NAME}=")
    )
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    home = await client.get("/")
    assert 'href="/t/alpha/"' in home.text
    assert "Gemeente Alpha" in home.text


async def test_wrong_password_keeps_email_but_not_password(client):
    await anna()
    response = await try_login(client, EMAIL, "wrong-password-123")
    assert response.status_code == 400
    assert nl("The email address or password is not correct.") in response.text
    assert f'value="{EMAIL}"' in response.text
    assert "wrong-password-123" not in response.text
    assert COOKIE_NAME not in client.cookies


async def test_unknown_email_gets_the_same_message(client):
    await anna()
    response = await try_login(client, "nobody@alpha.example", PASSWORD)
    assert response.status_code == 400
    assert nl("The email address or password is not correct.") in response.text
    assert PASSWORD not in response.text


# --- sessions ---------------------------------------------------------------------------------


async def test_made_up_session_id_is_replaced_at_login(client):
    await anna()
    victim = Browser(client, **{COOKIE_NAME: "chosen-by-the-attacker"})
    response = await try_login(victim, EMAIL, PASSWORD)
    assert response.status_code == 303
    session_id = victim.cookies[COOKIE_NAME]
    assert session_id != "chosen-by-the-attacker"
    assert await can_open_tenant_page(client, session_id)
    assert not await can_open_tenant_page(client, "chosen-by-the-attacker")


async def test_session_id_changes_at_login_and_logout(client):
    await anna()
    await login(client, EMAIL)
    first = client.cookies[COOKIE_NAME]
    await login(client, EMAIL)  # logging in again, e.g. in another tab
    second = client.cookies[COOKIE_NAME]
    assert second != first
    assert not await can_open_tenant_page(client, first)
    assert await can_open_tenant_page(client, second)

    response = await post_form(client, "/logout", follow_redirects=False)
    assert response.status_code == 303
    assert client.cookies.get(COOKIE_NAME) != second
    assert not await can_open_tenant_page(client, second)
    assert (await client.get("/t/alpha/", follow_redirects=False)).status_code in (302, 303)


async def test_unknown_session_id_is_treated_as_anonymous(client):
    response = await Browser(client, **{COOKIE_NAME: "no-such-session"}).get("/")
    assert response.status_code == 200
    assert 'href="/login"' in response.text
    assert 'action="/logout"' not in response.text


# --- rate limit -------------------------------------------------------------------------------


async def test_sixth_attempt_is_refused_even_with_the_right_password(client):
    await anna()
    for _ in range(5):
        assert (await try_login(client, EMAIL, "wrong-password-123")).status_code == 400
    response = await try_login(client, EMAIL, PASSWORD)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert '<html lang="nl"' in response.text
    assert nl("Too many attempts") in response.text
    assert "Traceback" not in response.text
    assert COOKIE_NAME not in client.cookies


# --- CSRF -------------------------------------------------------------------------------------


async def test_login_without_csrf_token_is_refused(client):
    await anna()
    await csrf_token(client)  # the cookie is there; only the form field is missing
    response = await client.post(
        "/login", data={"email": EMAIL, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403
    assert nl(CSRF_MESSAGE) in response.text
    assert COOKIE_NAME not in client.cookies


async def test_logout_without_csrf_token_keeps_you_logged_in(client):
    await anna()
    await login(client, EMAIL)
    response = await client.post("/logout", data={}, follow_redirects=False)
    assert response.status_code == 403
    assert nl(CSRF_MESSAGE) in response.text
    assert (await client.get("/t/alpha/")).status_code == 200


async def test_invitation_without_csrf_token_stores_nothing(client):
    tenant = await make_tenant("alpha")
    await make_user("admin@alpha.example", tenant=tenant, roles=("tenant_admin",))
    await login(client, "admin@alpha.example")
    data = {"email": "new@x.example", "role": "panel_member"}
    response = await client.post("/t/alpha/invitations", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert nl(CSRF_MESSAGE) in response.text
    assert await everywhere(Invitation).count() == 0
    assert await outbox() == []


async def test_csrf_token_in_htmx_header_is_accepted(client):
    await anna()
    token = await csrf_token(client)
    response = await client.post(
        "/login",
        data={"email": EMAIL, "password": PASSWORD},
        headers={"x-csrftoken": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert COOKIE_NAME in client.cookies


# --- password reset ---------------------------------------------------------------------------


async def ask_reset_link(client, email: str = EMAIL) -> str:
    response = await post_form(client, "/password/forgot", {"email": email})
    assert response.status_code == 200
    messages = await outbox(email)
    assert len(messages) == 1
    return link_in(messages[0].body)


async def test_forgot_password_answers_the_same_for_unknown_email(client):
    await anna()
    known = await post_form(client, "/password/forgot", {"email": EMAIL})
    unknown = await post_form(client, "/password/forgot", {"email": "nobody@alpha.example"})
    assert known.status_code == unknown.status_code == 200
    sent_text = nl(
        "If there is an account with this email address, we have sent it a link to choose a new "
        "password. The link works for one hour."
    )
    assert sent_text in known.text and sent_text in unknown.text
    messages = await outbox()
    assert [message.recipient for message in messages] == [EMAIL]
    assert link_in(messages[0].body).startswith("/password/reset/")


async def test_reset_password_rejects_bad_passwords(client):
    await anna()
    link = await ask_reset_link(client)
    form = await client.get(link)
    assert form.status_code == 200
    assert 'name="password_confirmation"' in form.text

    mismatch = await post_form(
        client, link, {"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD + "x"}
    )
    assert mismatch.status_code == 422
    assert nl("The two passwords are not the same.") in mismatch.text
    assert NEW_PASSWORD not in mismatch.text

    short = await post_form(client, link, {"password": "short", "password_confirmation": "short"})
    assert short.status_code == 422
    assert nl("Choose a password of at least %(min)s characters.", min=10) in short.text
    assert 'href="#field-password"' in short.text


async def test_reset_password_logs_in_and_replaces_the_old_password(client):
    await anna()
    link = await ask_reset_link(client)
    response = await post_form(
        client,
        link,
        {"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert (await client.get("/t/alpha/")).status_code == 200

    other = Browser(client)
    assert (await try_login(other, EMAIL, PASSWORD)).status_code == 400
    assert (await try_login(other, EMAIL, NEW_PASSWORD)).status_code == 303

    again = await client.get(link)
    assert again.status_code == 404
    assert nl("This link no longer works") in again.text
    reuse = await post_form(
        client,
        link,
        {"password": "another-password-99", "password_confirmation": "another-password-99"},
    )
    assert reuse.status_code == 404


async def test_expired_reset_link_is_refused(client):
    await anna()
    link = await ask_reset_link(client)
    past = datetime.now(UTC) - timedelta(minutes=1)
    await PasswordResetToken.update({PasswordResetToken.expires_at: past}, force=True)
    response = await client.get(link)
    assert response.status_code == 404
    assert nl("This link no longer works") in response.text
    post = await post_form(
        client, link, {"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD}
    )
    assert post.status_code == 404
    assert COOKIE_NAME not in client.cookies


# --- open redirect ----------------------------------------------------------------------------


async def test_login_never_redirects_to_another_site(client):
    await anna()
    for target, expected in [
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/t/alpha/", "/t/alpha/"),
    ]:
        response = await try_login(Browser(client), EMAIL, PASSWORD, next=target)
        assert response.status_code == 303
        assert response.headers["location"] == expected, target


# --- language ---------------------------------------------------------------------------------


async def test_pages_are_dutch_by_default_and_english_on_request(client):
    dutch = await client.get("/login")
    assert '<html lang="nl"' in dutch.text
    assert "Wachtwoord vergeten?" in dutch.text
    assert 'value="en"' in dutch.text  # the button offers English

    response = await post_form(
        client, "/language", {"locale": "en", "next": "/login"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert client.cookies["portal_lang"] == "en"
    page = await client.get("/login")
    assert '<html lang="en"' in page.text
    assert "Forgot your password?" in page.text and "Wachtwoord vergeten?" not in page.text
    assert 'value="nl"' in page.text and 'value="en"' not in page.text


async def test_language_choice_is_stored_for_a_logged_in_user(client):
    user = await anna()
    await login(client, EMAIL)
    await post_form(client, "/language", {"locale": "en"})
    assert (await User.objects().get(User.id == user.id)).locale == "en"
    assert '<html lang="en"' in (await client.get("/t/alpha/")).text


async def test_invalid_language_is_ignored(client):
    response = await post_form(
        client, "/language", {"locale": "xx<script>"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert "portal_lang" not in response.headers.get("set-cookie", "")
    assert "portal_lang" not in client.cookies
    assert '<html lang="nl"' in (await client.get("/")).text
