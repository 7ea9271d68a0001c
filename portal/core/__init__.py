"""Shared plumbing: settings, database, sessions, security, mail, i18n, templating."""
