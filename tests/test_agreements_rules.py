"""State machines of agreements and claims, consent at 16, and who may be published."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from portal.agreements import claims, service
from portal.agreements.rules import (
    CLAIM_TRANSITIONS,
    OWNERSHIP_TRANSITIONS,
    PAYMENT_TRANSITIONS,
    unit_of,
)
from portal.agreements.tables import OwnershipAgreement, PaymentAgreement
from portal.agreements.terms import default_terms
from portal.core.i18n import current_locale
from portal.core.states import TransitionError, check_transition
from portal.core.tenancy import TenantScope
from portal.privacy import service as privacy
from portal.privacy.tables import Consent, PersonalDetails
from portal.tenants.tables import Tenant
from tests.support import (
    build_panel,
    build_panel_member,
    build_round,
    build_stage,
    make_tenant,
    make_user,
)


def test_the_payment_states_of_domain_md():
    path = ["proposed", "agreed", "hours_logged", "submitted", "paid"]
    for current, target in zip(path, path[1:], strict=False):
        check_transition(PAYMENT_TRANSITIONS, current, target)
    for state in ("proposed", "agreed", "hours_logged"):
        check_transition(PAYMENT_TRANSITIONS, state, "withdrawn")
    for current, target in (("paid", "withdrawn"), ("submitted", "withdrawn"), ("proposed", "paid"),
                            ("withdrawn", "agreed")):
        with pytest.raises(TransitionError):
            check_transition(PAYMENT_TRANSITIONS, current, target)
    with pytest.raises(TransitionError):
        check_transition(OWNERSHIP_TRANSITIONS, "withdrawn", "accepted")
    with pytest.raises(TransitionError):
        check_transition(CLAIM_TRANSITIONS, "rejected", "approved")
    assert [unit_of(b) for b in ("volunteer_hourly", "volunteer_fixed", "expenses")] == ["hour", "round", "none"]


@pytest.fixture
async def world():
    tenant = await make_tenant("alpha")
    scope = TenantScope(tenant)
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))
    panel = await build_panel(tenant, "Ouderpanel")
    member = await build_panel_member(tenant, panel, "ouder@alpha.example")
    round_ = await build_round(tenant, await build_stage(tenant), panels=[panel], status="sent")
    await service.propose_agreements(scope, round_, officer)
    return {"scope": scope, "officer": officer, "member": member, "round": round_}


async def test_accepting_twice_and_asking_a_change_after_accepting_are_refused(world):
    scope, member = world["scope"], world["member"]
    payment, ownership = await service.agreements_of(scope, world["round"].id, member.id)
    with pytest.raises(service.AgreementError):
        await service.accept(scope, payment, world["officer"])  # not the officer's agreement
    await service.accept(scope, payment, member)
    with pytest.raises(TransitionError):
        await service.accept(scope, payment, member)
    with pytest.raises(TransitionError):
        await service.request_change(scope, payment, member, "Liever anders")
    assert await service.may_post(scope, world["round"].id, member.id) is not None  # ownership still open
    await service.accept(scope, ownership, member)
    assert await service.may_post(scope, world["round"].id, member.id) is None


async def test_claims_only_while_agreed_and_submitting_needs_every_entry_decided(world, tmp_path):
    scope, member, officer = world["scope"], world["member"], world["officer"]
    payment, _ = await service.agreements_of(scope, world["round"].id, member.id)
    with pytest.raises(TransitionError):
        await claims.log_claim(scope, payment, member, kind="hours", day=date.today(), hours=Decimal(1),
                               amount=Decimal(0), description="", receipt=None, upload_dir=tmp_path)
    await service.accept(scope, payment, member)
    claim = await claims.log_claim(scope, payment, member, kind="hours", day=date.today(), hours=Decimal(1),
                                   amount=Decimal(0), description="", receipt=None, upload_dir=tmp_path)
    payment = await scope.get(PaymentAgreement, payment.id)
    with pytest.raises(service.AgreementError):
        await claims.submit_for_payment(scope, payment, officer)
    await claims.decide(scope, claim, officer, approve=True)
    await claims.submit_for_payment(scope, payment, officer)
    with pytest.raises(TransitionError):
        await service.withdraw(scope, payment, officer)


async def test_an_erased_or_new_member_without_agreements_may_not_post(world):
    newcomer = await make_user("nieuw@alpha.example", tenant=world["scope"].tenant, roles=("panel_member",))
    assert await service.may_post(world["scope"], world["round"].id, newcomer.id) is not None


async def test_at_16_the_member_is_asked_to_consent_again(world):
    scope, member = world["scope"], world["member"]
    for kind in ("account", "experience"):  # joined under 16: their guardian consents for them
        await privacy.withdraw_consent(scope, member, kind)
    await scope.new(PersonalDetails, user=member.id, date_of_birth=date.today() - timedelta(days=365 * 15)).save()
    assert await privacy.is_under_guardian_age(scope, member.id)
    await scope.new(Consent, user=member.id, kind="guardian", given_by="guardian", text_version="2026-1").save()
    assert not await privacy.needs_own_consent(scope, member.id)
    await scope.update(PersonalDetails, {PersonalDetails.date_of_birth: date.today() - timedelta(days=365 * 16 + 5)})
    assert await privacy.needs_own_consent(scope, member.id)
    for kind in ("account", "experience"):
        await privacy.give_consent(scope, member, kind)
    assert not await privacy.needs_own_consent(scope, member.id)


async def test_only_members_with_publication_consent_and_if_under_16_a_guardian_may_be_published(world):
    scope, member = world["scope"], world["member"]
    assert await privacy.may_publish(scope, [member.id]) == set()
    await privacy.give_consent(scope, member, "publication")
    assert await privacy.may_publish(scope, [member.id]) == {member.id}
    await scope.new(PersonalDetails, user=member.id, date_of_birth=date.today() - timedelta(days=365 * 14)).save()
    assert await privacy.may_publish(scope, [member.id]) == set()
    assert await scope.count(OwnershipAgreement) == 1


def test_the_default_withdrawal_terms_are_in_the_language_of_the_page():
    tenant = Tenant(name="Gemeente Voorbeeldstad", settings={})
    assert default_terms(tenant, "parents")["withdrawal_terms"].startswith("Je kunt je bijdrage altijd intrekken")
    token = current_locale.set("en")
    try:
        assert default_terms(tenant, "parents")["withdrawal_terms"].startswith("You can withdraw your contribution")
    finally:
        current_locale.reset(token)
