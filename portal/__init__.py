"""Participation portal for policy co-creation with experts by experience."""

import os

# Piccolo finds its engine and apps through this module; set it before any table is imported.
os.environ.setdefault("PICCOLO_CONF", "portal.piccolo_conf")
