"""Server-side sessions with rotation.

Litestar's built-in server-side session backend accepts any session id a client sends and
never issues a new one, which allows session fixation. Here:

* the id is 32 random bytes chosen by the server; an id the store does not know is ignored;
* ``rotate_session`` gives the session a new id (at login, logout and role change) and deletes
  the old one from the store;
* only a session that holds data is stored and gets a cookie.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.empty import value_or_default

from portal.core.stores import SESSIONS

COOKIE_NAME = "portal_session"
_STATE_KEY = "portal_session_meta"


def rotate_session(scope: Scope) -> None:
    scope["state"][_STATE_KEY]["rotate"] = True


class SessionMiddleware:
    def __init__(self, app: ASGIApp, *, max_age: int, secure: bool) -> None:
        self.app = app
        self.max_age = max_age
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        store = scope["litestar_app"].stores.get(SESSIONS)
        session_id = cookie_value(scope, COOKIE_NAME)
        stored = await store.get(session_id) if session_id else None
        data: dict[str, Any] = json.loads(stored) if stored else {}
        scope["session"] = data
        scope.setdefault("state", {})[_STATE_KEY] = {
            "id": session_id if stored else None,
            "loaded": json.dumps(data, sort_keys=True),
            "rotate": False,
        }

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self._save(scope, store, message)
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _save(self, scope: Scope, store, message: Message) -> None:
        meta = scope["state"][_STATE_KEY]
        data = value_or_default(scope.get("session"), {}) or {}
        old_id = meta["id"]
        changed = json.dumps(data, sort_keys=True) != meta["loaded"]
        if old_id and (meta["rotate"] or not data):
            await store.delete(old_id)
        if not data:
            if old_id:
                self._set_cookie(message, "", max_age=0)
            return
        session_id = old_id
        if meta["rotate"] or not old_id:
            session_id = secrets.token_urlsafe(32)
        if changed or session_id != old_id:
            await store.set(session_id, json.dumps(data), expires_in=self.max_age)
        if session_id != old_id:
            self._set_cookie(message, session_id, max_age=self.max_age)

    def _set_cookie(self, message: Message, value: str, *, max_age: int) -> None:
        cookie = Cookie(
            key=COOKIE_NAME,
            value=value,
            max_age=max_age,
            path="/",
            httponly=True,
            secure=self.secure,
            samesite="lax",
        )
        MutableScopeHeaders.from_message(message).add("set-cookie", cookie.to_header(header=""))


def cookie_value(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                cookie_name, _, cookie_value = part.strip().partition("=")
                if cookie_name == name and cookie_value:
                    return cookie_value
    return None
