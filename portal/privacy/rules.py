"""Rules of consent and personal details, without the database."""

from __future__ import annotations

from portal.core.i18n import N_

# The version of the consent texts people see (the labels below and the explanation of processing
# lived experience in templates/privacy/_experience_text.html); a new text gets a new version, and
# the record keeps which version each consent was given for.
CONSENT_TEXT_VERSION = "2026-2"
CONSENT_LABELS = {
    "account": N_("An account in the portal with my email address and name"),
    "experience": N_("Processing of my lived experience of youth care (health data) for this advice work"),
    "publication": N_("Publication of what I write, as agreed in the ownership agreement"),
    "attribution": N_("Mentioning me (my name, pseudonym or panel) with what is published"),
}
SELF_CONSENTS = tuple(CONSENT_LABELS)
# Needed to take part at all (post, write advice, vote): lived experience of youth care is health
# data (AVG art. 9), processed only with explicit consent. Under 16 the guardian gives it.
EXPERIENCE_CONSENT = "experience"
# Given on the invitation's acceptance form when asked; publication and attribution stay optional.
JOINING_CONSENTS = ("experience", "publication", "attribution")
GUARDIAN_CONSENT = "guardian"
# What a guardian consents to on behalf of a member under 16, besides the guardian's consent
# itself: the account and processing of lived experience (the text of the confirmation page).
GUARDIAN_GIVES = ("account", EXPERIENCE_CONSENT)
CONSENT_KINDS = (*SELF_CONSENTS, GUARDIAN_CONSENT)
# Every kind of consent record: the guardian's covers all of the member's own for a member under 16.
CONSENT_KIND_LABELS = {**CONSENT_LABELS, GUARDIAN_CONSENT: N_("Consent of your parent or guardian, because you were under 16")}
# Who gave a consent: the person themselves, or their guardian by the emailed link.
CONSENT_GIVER_LABELS = {"self": N_("you"), "guardian": N_("your parent or guardian")}
GUARDIAN_AGE = 16
GUARDIAN_LINK_DAYS = 14

BENEFIT_LABELS = {
    "": N_("No benefit, or I would rather not say"),
    "social_assistance": N_("Social assistance (bijstand)"),
    "uwv": N_("A UWV benefit (for example WW or Wajong)"),
    "other": N_("Another benefit or allowance"),
}
BENEFIT_REMINDERS = {
    "social_assistance": N_("Tell your municipality's social assistance team about this volunteer work. "
                            "If you are under 27, an allowance is usually deducted from your benefit: "
                            "ask for a reimbursement of expenses instead."),
    "uwv": N_("Tell UWV about this volunteer work. A volunteer allowance of up to €220 a month (2026) "
              "is usually allowed next to a UWV benefit."),
    "other": N_("Check with the organisation that pays your benefit whether you must report this "
                "volunteer work or allowance."),
}
UNDER_27 = 27
