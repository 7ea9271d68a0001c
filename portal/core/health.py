"""The health report behind GET /healthz."""

from __future__ import annotations

from portal.core.database import engine
from portal.core.settings import get_settings


async def _database_ok() -> bool:
    try:
        await engine().run_ddl("SELECT 1")
        return True
    except Exception:  # any failure means "not reachable"; the report says so
        return False


async def _redis_status(stores) -> str:
    if not get_settings().redis_url:
        return "disabled"
    try:
        await stores.get("health").set("ping", "1", expires_in=10)
        return "ok"
    except Exception:
        return "unreachable"


async def health_report(stores) -> tuple[dict, bool]:
    database = "ok" if await _database_ok() else "unreachable"
    redis = await _redis_status(stores)
    healthy = database == "ok" and redis != "unreachable"
    return {"status": "ok" if healthy else "error", "database": database, "redis": redis}, healthy
