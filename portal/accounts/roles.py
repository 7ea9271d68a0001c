"""The roles a person can hold in a tenant space."""

from portal.core.i18n import N_

TENANT_ADMIN = "tenant_admin"
POLICY_OFFICER = "policy_officer"
SUPPORT_CONTACT = "support_contact"
COUNCIL_MEMBER = "council_member"
PANEL_MEMBER = "panel_member"

ROLE_LABELS = {
    TENANT_ADMIN: N_("Tenant administrator"),
    POLICY_OFFICER: N_("Policy officer"),
    SUPPORT_CONTACT: N_("Support contact"),
    COUNCIL_MEMBER: N_("Council member"),
    PANEL_MEMBER: N_("Panel member"),
}
ROLES = tuple(ROLE_LABELS)

# Who may invite whom: staff roles are handed out by the tenant admin; officers invite experts,
# support contacts and council members for their work.
INVITABLE_BY = {
    TENANT_ADMIN: ROLES,
    POLICY_OFFICER: (PANEL_MEMBER, SUPPORT_CONTACT, COUNCIL_MEMBER),
}


def roles_invitable_by(roles: set[str]) -> tuple[str, ...]:
    allowed: set[str] = set()
    for role in roles:
        allowed.update(INVITABLE_BY.get(role, ()))
    return tuple(role for role in ROLES if role in allowed)
