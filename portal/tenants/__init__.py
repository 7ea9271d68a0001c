"""Tenant spaces: one per municipality or youth-care region."""
