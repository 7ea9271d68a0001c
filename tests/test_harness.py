"""The test harness: each pytest-xdist worker has databases of its own, and the application the
tests of one worker share remembers nothing from one test to the next."""

from portal.core.sessions import COOKIE_NAME
from tests.support import PASSWORD, Browser, login, make_tenant, make_user, post_form
from tests.workers import worker_database_url, worker_redis_url


def test_each_worker_has_a_database_and_a_redis_database_of_its_own():
    base = "postgresql://postgres@127.0.0.1:5432/portal_test"
    assert worker_database_url(base, "gw0") == "postgresql://postgres@127.0.0.1:5432/portal_test_gw0"
    assert worker_database_url(base, "gw11") == "postgresql://postgres@127.0.0.1:5432/portal_test_gw11"
    assert worker_database_url(base, None) == base
    assert worker_redis_url("redis://127.0.0.1:6379/8", "gw0") == "redis://127.0.0.1:6379/8"
    assert worker_redis_url("redis://127.0.0.1:6379/8", "gw2") == "redis://127.0.0.1:6379/10"
    assert worker_redis_url("redis://127.0.0.1:6379", "gw1") == "redis://127.0.0.1:6379/1"
    assert worker_redis_url("redis://127.0.0.1:6379/8", None) == "redis://127.0.0.1:6379/8"


async def _logged_in(client, session_id: str) -> bool:
    page = await Browser(client, **{COOKIE_NAME: session_id}).get("/t/alpha/", follow_redirects=False)
    return page.status_code == 200


async def _login_status(client, email: str, password: str) -> int:
    response = await post_form(client, "/login", {"email": email, "password": password},
                               follow_redirects=False)
    return response.status_code


async def test_the_shared_app_forgets_sessions_and_failed_logins_between_tests(worker_app, client):
    tenant = await make_tenant("alpha")
    await make_user("anna@alpha.example", tenant=tenant, roles=("panel_member",))
    await make_user("bram@alpha.example", tenant=tenant, roles=("panel_member",))
    await login(client, "anna@alpha.example")
    session_id = client.cookies[COOKIE_NAME]
    for _ in range(5):
        assert await _login_status(client, "bram@alpha.example", "wrong-password-123") == 400
    assert await _login_status(client, "bram@alpha.example", PASSWORD) == 429
    assert await _logged_in(client, session_id)

    worker_app.forget()  # what the ``app`` fixture does before each test

    next_client = worker_app.client(base_url="http://testserver.local")
    assert not await _logged_in(next_client, session_id)
    assert await _login_status(next_client, "bram@alpha.example", PASSWORD) == 303
