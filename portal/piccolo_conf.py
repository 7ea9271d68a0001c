"""Piccolo's configuration: the engine from PORTAL_DATABASE_URL and the one app, ``portal``."""

from piccolo.conf.apps import AppRegistry

from portal.core.database import create_engine
from portal.core.settings import get_settings

DB = create_engine(get_settings().database_url)

APP_REGISTRY = AppRegistry(apps=["portal.piccolo_app"])
