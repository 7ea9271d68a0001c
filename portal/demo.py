"""Demo content for `portal demo`: a policy cycle with a consultation round sent to two panels.

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
        return [f"{DEMO_TENANT}: demo cycle already there"]
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
    return [f"{DEMO_TENANT}: demo cycle {cycle.title!r} with a round sent to {len(panels)} panels"]
