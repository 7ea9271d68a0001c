"""Invitations by email to a role in a tenant space."""
