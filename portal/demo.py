"""Demo content for `portal demo`: a policy cycle with a consultation round sent to two panels, and
the parent panel's advice on it with responses, a council decision and an implementation update.

Made through the same services as the pages use, so the demo shows real states, emails in the
outbox and audit entries. Idempotent: a tenant that already has a cycle is left alone.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from portal.accounts.tables import User
from portal.agreements.demo import accept_demo_agreements
from portal.core.mail import MailService
from portal.core.tenancy import TenantScope
from portal.cycles import service as cycles
from portal.cycles.tables import PolicyCycle, Stage
from portal.panels.tables import Panel
from portal.rounds import service as rounds
from portal.tenants.tables import Tenant

DEMO_TENANT = "voorbeeldstad"
OFFICER = "beleid@voorbeeldstad.example"

ROUND = {
    "title": "Wat moet er beter in de jeugdhulp die we inkopen?",
    "question": "Welke drie dingen moeten volgens jullie beter in de jeugdhulp die de gemeente vanaf 2027 inkoopt?",
    "background": "De gemeente koopt in 2027 opnieuw jeugdhulp in. Voordat de eisen vastliggen, willen we weten wat ouders en jongeren belangrijk vinden.",
    "goal": "De ervaringen van ouders en jongeren meenemen in de eisen voor de inkoop.",
    "need": "collective_knowledge",
    "asked_of_experts": "Bespreek in je panel wat beter moet en geef samen een advies met maximaal drie punten.",
    "experts_wishes": "Bijeenkomsten na schooltijd of 's avonds, ook online mogelijk.",
    "competence_match": "Alle panelleden hebben de afgelopen drie jaar jeugdhulp gehad of een kind met jeugdhulp.",
    "preconditions": "Vorm: adviseren. Vrijwilligersvergoeding per uur. Het advies blijft van het panel en wordt met naam van het panel gepubliceerd. Ongeveer 4 uur in totaal.",
    "expected_effort_hours": Decimal("4"),
}


async def create_demo_content(mail: MailService) -> list[str]:
    tenant = await Tenant.objects().where(Tenant.slug == DEMO_TENANT).first()
    officer = await User.objects().where(User.email == OFFICER).first()
    if tenant is None or officer is None:
        return []
    scope = TenantScope(tenant)
    if await scope.exists(PolicyCycle):
        return [f"{DEMO_TENANT}: demo cycle already there", *await create_demo_advice(scope, mail, officer)]
    cycle = await cycles.create_cycle(
        scope, actor=officer, title="Inkoop jeugdhulp 2027", policy_domain="Inkoop jeugdhulp",
        description="Opnieuw inkopen van jeugdhulp vanaf 2027, samen met ouders en jongeren.",
        owner_id=officer.id,
    )
    stages = await scope.objects(Stage).where(Stage.cycle == cycle.id).order_by(Stage.position)
    agenda = await cycles.open_stage(scope, stages[0], actor=officer)
    deadline = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=28)
    round_ = await rounds.create_round(scope, agenda, {**ROUND, "deadline": deadline}, officer)
    panels = await scope.objects(Panel).where(Panel.kind.is_in(["parents", "youth"]))
    for panel in panels:
        await rounds.invite_panel(scope, round_, panel.id, officer)
    recipients = await rounds.send_round(scope, round_, officer)
    await accept_demo_agreements(scope, round_)
    await rounds.notify_round_sent(mail, scope, round_, recipients, mail.base_url)
    return [f"{DEMO_TENANT}: demo cycle {cycle.title!r} with a round sent to {len(panels)} panels",
            *await create_demo_advice(scope, mail, officer)]


# --- the advice trail: advice of the parent panel, answered, used in a decision ----------------------

ADVICE_ITEMS = [
    {"title": "Hulp binnen vier weken",
     "recommendation": "Spreek in de contracten af dat een gezin binnen vier weken na de aanmelding hulp krijgt.",
     "rationale": "Wij wachtten allebei meer dan drie maanden. In die tijd werd het thuis steeds zwaarder."},
    {"title": "Eén vaste contactpersoon",
     "recommendation": "Geef elk gezin één vaste contactpersoon die blijft, ook als de hulp verandert.",
     "rationale": "Steeds opnieuw je verhaal vertellen kost veel energie en vertrouwen."},
]


async def create_demo_advice(scope: TenantScope, mail: MailService, officer: User) -> list[str]:
    """The parent panel's advice on the demo round, adopted by both parents; the officer's
    responses (adopted, partly adopted), a council decision that uses both items and an
    implementation update. Idempotent: a tenant with advice is left alone."""
    from portal.advice import documents, notify, outcomes, responses
    from portal.advice.access import advice_access
    from portal.advice.tables import Advice, AdviceItem
    from portal.core.context import RequestContext
    from portal.core.forms import Form
    from portal.rounds.tables import ConsultationRound

    if await scope.exists(Advice):
        return [f"{DEMO_TENANT}: demo advice already there"]
    round_ = await scope.objects(ConsultationRound).where(ConsultationRound.title == ROUND["title"]).first()
    panel = await scope.objects(Panel).where(Panel.kind == "parents").first()
    mother = await User.objects().where(User.email == "ouder@voorbeeldstad.example").first()
    father = await User.objects().where(User.email == "vader@voorbeeldstad.example").first()
    if None in (round_, panel, mother, father):
        return []
    ctx = RequestContext(user=mother, tenant=scope.tenant, roles={"panel_member"})
    advice = await documents.create_advice(scope, ctx, title="Advies van het ouderpanel over de inkoop",
                                           round_=round_, panel_choice=str(panel.id), stage_id=None)
    access = await advice_access(scope, ctx, advice)
    await documents.save_document(scope, advice, documents.DocumentValues(advice.title, ADVICE_ITEMS, 1), access, mother)
    await documents.start_adoption(scope, advice, access, mother)
    for parent in (mother, father):
        await documents.cast_vote(scope, advice, parent, "confirm")
    items = await documents.items_of(scope, advice.id)
    answers = [("adopted", "De eis van vier weken komt in het bestek voor alle aanbieders."),
               ("partly_adopted", "Een vaste contactpersoon komt er, maar bij een verhuizing naar een andere "
                                  "regio kan die wisselen: dat kunnen wij niet afspreken.")]
    for item, (status, reasoning) in zip(items, answers, strict=True):
        await responses.save_response(scope, advice, item, status, reasoning, 0, officer)
        await responses.publish_response(scope, advice, item, officer)
        await notify.tell_panel(mail, scope, "response_published", advice, item)
    decision = await outcomes.create_decision(scope, {
        "kind": "council_decision", "title": "Raadsbesluit Inkoop jeugdhulp 2027", "reference": "RB-2026-114",
        "decided_on": datetime.date.today(), "url": "", "cycle": (await scope.get(Stage, round_.stage)).cycle,
    }, None, None, officer)
    for item, usage in zip(items, ("Overgenomen als eis in het bestek.", "Deels overgenomen: een vaste "
                                   "contactpersoon binnen de regio."), strict=True):
        form = Form({"decision": str(decision.id), "usage": usage})
        await outcomes.link_decision(scope, advice, item, form, officer)
    first = await scope.get(AdviceItem, items[0].id)
    await outcomes.add_outcome(scope, advice, first, 40, "De eis staat in het concept-bestek. De aanbesteding "
                               "start in het voorjaar.", officer)
    await notify.tell_panel(mail, scope, "outcome_published", advice, first)
    return [f"{DEMO_TENANT}: demo advice {advice.title!r} adopted, answered and used in a council decision"]

