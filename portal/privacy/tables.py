"""Consent records, guardian confirmations and the few personal details the rules need.

Kept apart from contributions (posts, advice): a date of birth never sits next to what a person
wrote, and only the agreements and privacy features read it.
"""

from piccolo.columns import Date, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import User
from portal.core.tenancy import TenantOwned


class PersonalDetails(TenantOwned, Table):
    """A member's date of birth (age on an activity date: hourly cap, guardian consent) and an
    optional benefit type (for a reminder). One per (tenant, user): a unique index."""

    user = ForeignKey(references=User, null=False, index=True, on_delete=OnDelete.cascade)
    date_of_birth = Date(null=True, default=None)
    benefit = Varchar(length=20, default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class Consent(TenantOwned, Table):
    """One consent: its kind, who gave it (the person or their guardian), the text version they
    saw, when it was given and withdrawn."""

    user = ForeignKey(references=User, null=False, index=True, on_delete=OnDelete.cascade)
    kind = Varchar(length=20)  # see rules.CONSENT_KINDS
    given_by = Varchar(length=10)  # "self" or "guardian"
    text_version = Varchar(length=20)
    given_at = Timestamptz(default=TimestamptzNow())
    withdrawn_at = Timestamptz(null=True, default=None)


class GuardianRequest(TenantOwned, Table):
    """An email to a guardian asking to confirm consent for a member under 16. Single use,
    expiring; only a hash of the token is stored."""

    user = ForeignKey(references=User, null=False, index=True, on_delete=OnDelete.cascade)
    guardian_email = Varchar(length=254)
    token_hash = Varchar(length=64, unique=True, index=True)
    expires_at = Timestamptz()
    confirmed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
