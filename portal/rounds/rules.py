"""Rules of consultation rounds, without the database."""

from __future__ import annotations

from portal.core.i18n import N_

ROUND_STATUSES = ("draft", "sent", "closed")
ROUND_TRANSITIONS = {"draft": ("sent",), "sent": ("closed",), "closed": ()}
ROUND_STATUS_LABELS = {"draft": N_("draft"), "sent": N_("sent"), "closed": N_("closed")}

# Question 2: what kind of knowledge is needed.
NEEDS = ("experience_expertise", "collective_knowledge", "individual_story")
NEED_LABELS = {
    "experience_expertise": N_("Experience expertise"),
    "collective_knowledge": N_("Collective knowledge of a group"),
    "individual_story": N_("An individual story"),
}

# The six questions that must be answered before experts are asked (domain.md), in order:
# field on ConsultationRound -> the question as the officer sees it.
SIX_QUESTIONS = {
    "goal": N_("1. What is the goal of involving experts?"),
    "need": N_("2. What is needed: experience expertise, the collective knowledge of a group, or an individual story?"),
    "asked_of_experts": N_("3. What, concretely, is asked of the experts?"),
    "experts_wishes": N_("4. What are the experts' own possibilities and wishes?"),
    "competence_match": N_("5. How do their competences and wishes match the question?"),
    "preconditions": N_("6. Preconditions: role and form of participation, financing, ownership agreements, way of working, time needed."),
}


def unanswered_questions(values: dict) -> list[str]:
    """The fields of the six questions that are still empty, in order."""
    return [name for name in SIX_QUESTIONS if not str(values.get(name) or "").strip()]


# Documents: what may be attached, recognised by content, not only by name.
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DOCUMENT_TYPES = {
    ".pdf": "application/pdf",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
