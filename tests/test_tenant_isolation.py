"""Tenant isolation, tried on every tenant route from the application's own route table.

A user who holds every role in tenant A requests each route of tenant A with the ids (and tokens)
of tenant B's objects, and must get 404. New routes are covered without anyone adding them
here; a route with an id parameter this test does not know fails until it is mapped below.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from litestar.routes import HTTPRoute

from portal.accounts.roles import ROLES
from portal.accounts.tables import Membership
from portal.advice import outcomes as advice_outcomes
from portal.advice.tables import (
    Advice,
    AdviceItem,
    AdviceVersion,
    CouncilQuestion,
    Decision,
    DecisionLink,
)
from portal.agreements import claims
from portal.agreements.tables import Claim, OwnershipAgreement, PaymentAgreement
from portal.core.tenancy import TenantScope
from portal.cycles import service as cycles
from portal.cycles.tables import PolicyCycle, Stage, StageTemplateStep
from portal.deliberation.tables import Poll, PollOption, Post, Thread
from portal.invitations import service as invitations
from portal.invitations.tables import Invitation
from portal.panels import service as panels
from portal.panels.tables import Panel, PanelMembership
from portal.rounds import service as rounds
from portal.rounds.tables import ConsultationRound, RoundDocument, RoundPanel
from portal.tenants import setup
from portal.tenants.theme import theme_of
from tests.support import (
    build_advice,
    build_panel,
    build_round,
    login,
    make_cycle,
    make_stage_template,
    make_tenant,
    make_user,
    post_form,
)

TENANT_PREFIX = "/t/{tenant_slug:str}"
PARAMETER = re.compile(r"\{(\w+):(\w+)\}")

# Path parameter -> the tenant-owned table its id refers to.
ID_TABLES = {
    "invitation_id": Invitation,
    "membership_id": Membership,
    "cycle_id": PolicyCycle,
    "stage_id": Stage,
    "panel_id": Panel,
    "panel_membership_id": PanelMembership,
    "round_id": ConsultationRound,
    "document_id": RoundDocument,
    "thread_id": Thread,
    "post_id": Post,
    "poll_id": Poll,
    "agreement_id": PaymentAgreement,
    "ownership_id": OwnershipAgreement,
    "claim_id": Claim,
    "advice_id": Advice,
    "version_id": AdviceVersion,
    "item_id": AdviceItem,
    "link_id": DecisionLink,
    "question_id": CouncilQuestion,
    "decision_id": Decision,
    "step_id": StageTemplateStep,
}
# String path parameters other than the invitation token -> the key in the ids of the tenant.
TOKEN_PARAMETERS = {"guardian_token": "guardian_token", "logo_name": "logo_name"}
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def tenant_routes(app) -> list[tuple[str, str]]:
    routes = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path_format.startswith("/t/{tenant_slug}"):
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                routes.append((method, route.path))
    return routes


async def _tenant_with_objects(slug: str, upload_dir: Path):
    """A tenant with one object of every kind a tenant route can name by id."""
    tenant = await make_tenant(slug)
    tenant.settings = {"public_advice_ledger": True}
    await tenant.save()
    admin = await make_user(f"admin@{slug}.example", tenant=tenant, roles=ROLES)
    scope = TenantScope(tenant)
    await make_stage_template(tenant)
    await setup.update_theme(scope, actor=admin, colours={}, logo=PNG, upload_dir=upload_dir)
    _, token = await invitations.create_invitation(
        scope, inviter=admin, inviter_roles=set(ROLES), email=f"guest@{slug}.example",
        role="panel_member", days=14,
    )
    cycle = await make_cycle(tenant, owner=admin)
    stage = await scope.objects(Stage).where(Stage.cycle == cycle.id).first()
    stage = await cycles.open_stage(scope, stage, actor=admin)
    panel = await build_panel(tenant, f"Ouderpanel {slug}")
    membership, _, _ = await panels.invite_member(
        scope, panel, inviter=admin, inviter_roles=set(ROLES), email=f"ouder@{slug}.example",
        age_band="27_plus", support_contact_id=None, monthly_hours_budget=Decimal("8"), days=14,
    )
    round_ = await build_round(tenant, stage, panels=[panel], status="sent")
    document = await rounds.add_document(scope, round_, "plan.pdf", PDF, upload_dir, admin)
    thread, post, poll = await _deliberation(scope, round_, panel, admin)
    advice_ids = await _advice_trail(scope, round_, panel, admin, upload_dir)
    ids = {
        "invitation_id": (await scope.objects(Invitation).first()).id,
        "membership_id": (await scope.objects(Membership).first()).id,
        "cycle_id": cycle.id,
        "stage_id": stage.id,
        "panel_id": panel.id,
        "panel_membership_id": membership.id,
        "round_id": round_.id,
        "document_id": document.id,
        "thread_id": thread.id,
        "post_id": post.id,
        "poll_id": poll.id,
        "step_id": (await scope.objects(StageTemplateStep).first()).id,
        "logo_name": theme_of(tenant)["uploaded_logo"]["storage_name"],
        **await _agreements(scope, round_, panel, admin, upload_dir),
        **advice_ids,
    }
    return tenant, ids, token


async def _agreements(scope, round_, panel, member, upload_dir) -> dict:
    """Both agreements of one member in the round, a claim with a receipt, a guardian link."""
    from portal.core.mail import MailService, OutboxMailer, OutboxMessage
    from portal.core.templating import create_environment
    from portal.privacy import service as privacy

    terms = {"basis": "expenses", "payer": "Gemeente", "unit": "none", "fiscal_year": 2026, "status": "agreed"}
    payment = scope.new(PaymentAgreement, round=round_.id, user=member.id, panel=panel.id, **terms)
    await payment.save()
    ownership = scope.new(OwnershipAgreement, round=round_.id, user=member.id, panel=panel.id, owner="member",
                          licence="approval", attribution="pseudonym", status="accepted")
    await ownership.save()
    claim = await claims.log_claim(
        scope, payment, member, kind="expense", day=datetime.now(UTC).date(), hours=Decimal(0),
        amount=Decimal("12.50"), description="Reiskosten", receipt=claims.Receipt("bon.pdf", PDF),
        upload_dir=upload_dir)
    mail = MailService(OutboxMailer(), create_environment(), "http://testserver.local")
    await privacy.request_guardian_consent(scope, member, "voogd@example.nl", mail, "http://testserver.local", "Lid")
    outbox = await OutboxMessage.objects().order_by(OutboxMessage.id, ascending=False).first()
    token = re.search(r"/guardian/(\S+)", outbox.body).group(1)
    return {"agreement_id": payment.id, "ownership_id": ownership.id, "claim_id": claim.id, "guardian_token": token}


async def _advice_trail(scope, round_, panel, admin, upload_dir) -> dict:
    """Submitted advice with its items and first version, a decision with a document linked to
    an item, and a council question on it."""
    advice = await build_advice(scope.tenant, round_, panel, admin)
    item = await scope.objects(AdviceItem).where(AdviceItem.advice == advice.id).first()
    decision = await advice_outcomes.create_decision(
        scope, {"kind": "council_decision", "title": "Raadsbesluit", "cycle": None}, ("besluit.pdf", PDF),
        upload_dir, admin,
    )
    link = scope.new(DecisionLink, decision=decision.id, item=item.id, usage="Overgenomen")
    await link.save()
    question = scope.new(CouncilQuestion, item=item.id, asked_by=admin.id, question="Waarom?")
    await question.save()
    version = await scope.objects(AdviceVersion).where(AdviceVersion.advice == advice.id).first()
    return {"advice_id": advice.id, "version_id": version.id, "item_id": item.id, "link_id": link.id,
            "question_id": question.id, "decision_id": decision.id}


async def _deliberation(scope, round_, panel, author):
    """A thread with a post and an open poll, as rows (the round's panel thread)."""
    thread = scope.new(Thread, round=round_.id, panel=panel.id, title=panel.name, is_main=True)
    await thread.save()
    post = scope.new(Post, thread=thread.id, author=author.id, body_markdown="Hallo", body_html="<p>Hallo</p>")
    await post.save()
    poll = scope.new(Poll, thread=thread.id, question="Eens?", kind="single",
                     closes_at=datetime.now(UTC) + timedelta(days=7), created_by=author.id)
    await poll.save()
    for position, label in enumerate(("Ja", "Nee"), start=1):
        await scope.new(PollOption, poll=poll.id, position=position, label=label).save()
    return thread, post, poll


def fill(path: str, slug: str, ids: dict, token: str) -> str:
    def value(match: re.Match) -> str:
        name, kind = match.groups()
        if name == "tenant_slug":
            return slug
        if kind == "int":
            assert name in ID_TABLES, f"map the path parameter {name!r} to its table in ID_TABLES"
            return str(ids[name])
        if name in TOKEN_PARAMETERS:
            return str(ids[TOKEN_PARAMETERS[name]])
        assert name == "token", f"unknown string path parameter {name!r} in {path}"
        return token

    return PARAMETER.sub(value, path)


async def request(client, method: str, path: str):
    if method == "GET":
        return await client.get(path)
    return await post_form(client, path, {"email": "x@example.nl", "role": "panel_member"})


async def test_every_tenant_route_refuses_another_tenants_ids(app, client, settings):
    await _tenant_with_objects("alpha", settings.upload_dir)
    _beta, beta_ids, beta_token = await _tenant_with_objects("beta", settings.upload_dir)
    await login(client, "admin@alpha.example")
    routes = tenant_routes(app)
    assert len(routes) >= 8
    checked = 0
    for method, path in routes:
        if "{" not in path.removeprefix(TENANT_PREFIX):
            continue  # no object ids in this route: nothing of another tenant to name
        url = fill(path, "alpha", beta_ids, beta_token)
        response = await request(client, method, url)
        assert response.status_code == 404, f"{method} {url} gave {response.status_code}"
        checked += 1
    assert checked >= 4


async def test_the_same_routes_work_with_own_ids(app, client, settings):
    """The refusal above is about the tenant, not a broken route: own ids are found.
    Reading routes go first, so that a removal does not hide an object from a later read."""
    _alpha, alpha_ids, alpha_token = await _tenant_with_objects("alpha", settings.upload_dir)
    await login(client, "admin@alpha.example")
    for method, path in sorted(tenant_routes(app), key=lambda route: route[0] != "GET"):
        url = fill(path, "alpha", alpha_ids, alpha_token)
        response = await request(client, method, url)
        assert response.status_code != 404, f"{method} {url} gave 404 with its own ids"


async def test_members_of_one_tenant_get_no_pages_of_another(app, client, settings):
    await _tenant_with_objects("alpha", settings.upload_dir)
    _beta, beta_ids, beta_token = await _tenant_with_objects("beta", settings.upload_dir)
    await login(client, "admin@alpha.example")
    for method, path in tenant_routes(app):
        if path.endswith(("/invitations/accept/{token:str}", "/guardian/{guardian_token:str}")):
            continue  # public: the token itself is the credential
        if path.endswith("/ledger"):
            continue  # public when the tenant turns it on, as these tenants do
        if path.endswith("/logo/{logo_name:str}"):
            continue  # public: the header of the space's public pages shows it
        url = fill(path, "beta", beta_ids, beta_token)
        response = await request(client, method, url)
        assert response.status_code in (403, 404), f"{method} {url} gave {response.status_code}"


async def test_ids_of_another_tenant_in_form_fields_are_refused(client, settings):
    """Ids also travel in forms: another tenant's panel cannot be invited into a round."""
    _alpha, alpha_ids, _ = await _tenant_with_objects("alpha", settings.upload_dir)
    beta, beta_ids, _ = await _tenant_with_objects("beta", settings.upload_dir)
    await login(client, "admin@alpha.example")
    response = await post_form(
        client, f"/t/alpha/rounds/{alpha_ids['round_id']}/panels", {"panel_id": str(beta_ids["panel_id"])}
    )
    assert response.status_code in (404, 422)
    invited = await TenantScope(_alpha).select(RoundPanel, RoundPanel.panel).where(
        RoundPanel.round == alpha_ids["round_id"]
    )
    assert {row["panel"] for row in invited} == {alpha_ids["panel_id"]}
