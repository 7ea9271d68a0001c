"""Key-value stores for sessions and caches: in-process, or Redis when PORTAL_REDIS_URL is set.

Litestar's ``Store`` interface is the one small interface; the backend is chosen here, once.
Each use gets its own namespace so that, for example, sessions and caches never share keys.
"""

from __future__ import annotations

from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry

from portal.core.settings import Settings

SESSIONS = "sessions"
CACHE = "cache"


def create_store_registry(settings: Settings) -> StoreRegistry:
    if settings.redis_url:
        root = RedisStore.with_client(url=settings.redis_url, namespace="portal")

        def redis_namespace(name: str) -> Store:
            return root.with_namespace(name)

        return StoreRegistry(default_factory=redis_namespace)
    return StoreRegistry(default_factory=lambda _name: MemoryStore())
