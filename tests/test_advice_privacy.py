"""The advice trail together with agreements and privacy: the public ledger names each writer
as their ownership agreement allows (and only those who may be published), writing advice needs
both agreements of the round (voting does not), and advice is part of download my data and of
withdrawing a contribution."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

from portal.advice.overview import ANONYMOUS_PANEL, ledger
from portal.advice.tables import AdoptionVote, Advice, AdviceItem, AdviceVersion
from portal.agreements.privacy import ANONYMOUS
from portal.agreements.tables import OwnershipAgreement
from portal.core.database import query_counter
from portal.core.i18n import _
from portal.panels.tables import Panel, PanelMembership
from portal.privacy import service as privacy
from portal.tenants.tables import Tenant
from tests.support import Browser, build_advice, build_panel_member, login, nl
from tests.test_agreements_http import submit
from tests.test_privacy_selfservice import EMAIL, NAME, _member_with_a_history, advice_history


async def _attributions(scope) -> list[str]:
    return [entry["attribution"] for entry in await ledger(scope)]


async def _second_writer(world, advice, other=None):
    """Another member of the panel (added after the round was sent: no agreements) who saved a
    version of the advice."""
    scope = world["scope"]
    if other is None:
        panel = await scope.objects(Panel).where(Panel.name == "Ouderpanel").first()
        other = await build_panel_member(world["tenant"], panel, "bram@alpha.example", display_name="Bram")
    await scope.new(AdviceVersion, advice=advice.id, number=3, title=advice.title, items="[]", author=other.id).save()
    return other


async def test_the_ledger_names_each_writer_as_their_ownership_agreement_allows(client):
    world = await _member_with_a_history(client)
    scope, member = world["scope"], world["member"]
    advice, _item = await advice_history(client, world)
    other = await _second_writer(world, advice)
    # Nobody consented to publication yet: the advice is shown, its writers are not.
    assert await _attributions(scope) == [_(ANONYMOUS_PANEL)]
    await submit(client, "/t/alpha/privacy/consents", {"kind": "publication", "action": "give"})
    assert await _attributions(scope) == ["Zee"]  # the agreement says: pseudonym
    await scope.update(OwnershipAgreement, {OwnershipAgreement.attribution: "name"})
    assert await _attributions(scope) == [NAME]  # with consent to attribution
    await scope.update(OwnershipAgreement, {OwnershipAgreement.attribution: "panel"})
    assert await _attributions(scope) == ["Ouderpanel"]
    # The second writer consents too, but has no ownership agreement: anonymous.
    await privacy.give_consent(scope, other, "publication")
    assert await _attributions(scope) == [f"Ouderpanel, {_(ANONYMOUS)}"]
    # Under 16 without a guardian's consent: not published at all, until the guardian consents.
    await scope.update(PanelMembership, {PanelMembership.age_band: "under_16"}).where(PanelMembership.user == other.id)
    assert await _attributions(scope) == ["Ouderpanel"]
    await scope.new(privacy.Consent, user=other.id, kind="guardian", given_by="guardian", text_version="2026-1").save()
    assert await _attributions(scope) == [f"Ouderpanel, {_(ANONYMOUS)}"]

    # Unsolicited advice has no round and so no agreement: anonymous.
    unsolicited = await build_advice(world["tenant"], None, None, member, titles=("Zonder ronde",))
    await scope.update(AdviceItem, {AdviceItem.responded_at: datetime.now(UTC)}).where(
        AdviceItem.advice == unsolicited.id)
    entries = {entry["title"]: entry["attribution"] for entry in await ledger(scope)}
    assert entries["Zonder ronde"] == _(ANONYMOUS_PANEL)

    # The page a visitor reads.
    await Tenant.update({Tenant.settings: {"public_advice_ledger": True}}).where(Tenant.id == world["tenant"].id)
    page = await Browser(client).get("/t/alpha/ledger")
    assert page.status_code == 200 and "Ouderpanel" in page.text and NAME not in page.text


async def test_the_ledger_costs_the_same_queries_for_few_and_many_advice(client):
    world = await _member_with_a_history(client)
    scope, member = world["scope"], world["member"]
    await advice_history(client, world)
    await submit(client, "/t/alpha/privacy/consents", {"kind": "publication", "action": "give"})
    await Tenant.update({Tenant.settings: {"public_advice_ledger": True}}).where(Tenant.id == world["tenant"].id)
    visitor = Browser(client)
    counts, other = [], None
    for extra in (0, 30):
        for _number in range(extra):
            advice = await build_advice(world["tenant"], world["round"], None, member, titles=("Meer",))
            other = await _second_writer(world, advice, other)
            await privacy.give_consent(scope, other, "publication")
        await scope.update(AdviceItem, {AdviceItem.responded_at: datetime.now(UTC)})
        with query_counter.measure() as measured:
            page = await visitor.get("/t/alpha/ledger")
        assert page.status_code == 200 and "Zee" in page.text
        counts.append(measured["queries"])
    assert await scope.count(AdviceItem) == 31
    assert counts[0] == counts[1], counts


async def test_writing_advice_needs_both_agreements_and_voting_does_not(client):
    world = await _member_with_a_history(client)
    scope, round_ = world["scope"], world["round"]
    panel = await scope.objects(Panel).where(Panel.name == "Ouderpanel").first()
    start = {"round": str(round_.id), "panel": str(panel.id), "title": "Ons advies"}
    # The member accepted both agreements: they write.
    assert (await submit(client, "/t/alpha/advice", start)).status_code == 303
    advice = await scope.objects(Advice).first()
    # A member who joined later has no agreements for this round: the same rule as for posts.
    await build_panel_member(world["tenant"], panel, "bram@alpha.example", display_name="Bram")
    await login(client, "bram@alpha.example")
    refused = await submit(client, "/t/alpha/advice", start)
    no_agreements = nl("No agreements have been proposed to you for this round yet. Ask the policy officer.")
    assert refused.status_code == 422 and no_agreements in refused.text
    edit = {"title": "Ons advies", "version": "1", "item_count": "1", "item-1-title": "Wachtlijst",
            "item-1-recommendation": "Korter."}
    refused = await submit(client, f"/t/alpha/advice/{advice.id}/edit", edit)
    assert refused.status_code == 409 and no_agreements in refused.text
    assert await scope.count(Advice) == 1 and await scope.count(AdviceVersion) == 1
    # Back to the member, whose ownership agreement is reopened: no writing until accepted again.
    await login(client, EMAIL)
    await scope.update(OwnershipAgreement, {OwnershipAgreement.status: "proposed"})
    refused = await submit(client, f"/t/alpha/advice/{advice.id}/edit", edit)
    assert refused.status_code == 409
    assert nl("Accept your payment and ownership agreements for this round before you post.") in refused.text
    await scope.update(OwnershipAgreement, {OwnershipAgreement.status: "accepted"})
    assert (await submit(client, f"/t/alpha/advice/{advice.id}/edit", edit)).status_code == 303
    assert (await submit(client, f"/t/alpha/advice/{advice.id}/adopt")).status_code == 303
    # A vote is not a contribution: the later member may confirm without agreements.
    await login(client, "bram@alpha.example")
    assert (await submit(client, f"/t/alpha/advice/{advice.id}/vote", {"choice": "confirm"})).status_code == 303
    assert await scope.exists(AdoptionVote).where(AdoptionVote.choice == "confirm")


async def test_download_my_data_includes_the_advice_trail(client):
    world = await _member_with_a_history(client)
    await advice_history(client, world)
    archive = zipfile.ZipFile(io.BytesIO((await client.get("/t/alpha/privacy/download")).content))
    advice = json.loads(archive.read("mijn-gegevens.json"))["advice"]
    assert [row["number"] for row in advice["advice_versions"]] == [1, 2]
    assert "Hooguit vier weken wachten." in advice["advice_versions"][1]["items"]
    assert advice["adoption_votes"][0]["choice"] == "confirm"
    assert advice["feel_heard"][0]["comment"] == "Ik voel me gehoord."
    assert advice["council_questions"] == []
    assert "Ik voel me gehoord." in archive.read("mijn-gegevens.html").decode()


async def _withdraw(client, advice_id: int):
    return await submit(client, "/t/alpha/privacy/contributions/withdraw",
                        {"kind": "advice", "contribution_id": str(advice_id)}, follow_redirects=True)


async def test_withdrawing_advice_before_submission_removes_it(client):
    world = await _member_with_a_history(client)
    scope, round_ = world["scope"], world["round"]
    panel = await scope.objects(Panel).where(Panel.name == "Ouderpanel").first()
    await submit(client, "/t/alpha/advice", {"round": str(round_.id), "panel": str(panel.id), "title": "Mijn concept"})
    draft = await scope.objects(Advice).first()
    listed = await client.get("/t/alpha/privacy")
    assert "Mijn concept" in listed.text and nl("Advice you helped write") in listed.text
    withdrawn = await _withdraw(client, draft.id)
    assert nl("Your contribution has been withdrawn.") in withdrawn.text
    assert not await scope.exists(Advice) and not await scope.exists(AdviceVersion)
    again = await _withdraw(client, draft.id)
    assert nl("This contribution cannot be found, or it was already withdrawn.") in again.text


async def test_withdrawing_co_written_or_submitted_advice_removes_the_name_and_takes_it_off_the_portal(client):
    world = await _member_with_a_history(client)
    scope, member = world["scope"], world["member"]
    advice, item = await advice_history(client, world)
    await submit(client, "/t/alpha/privacy/consents", {"kind": "publication", "action": "give"})
    await Tenant.update({Tenant.settings: {"public_advice_ledger": True}}).where(Tenant.id == world["tenant"].id)
    assert item.title in (await Browser(client).get("/t/alpha/ledger")).text
    # A co-written draft: the others' work stays with the panel, without the member's name.
    draft = await build_advice(world["tenant"], world["round"], None, member, status="draft", titles=("Samen",))
    await _second_writer(world, draft)
    await _withdraw(client, draft.id)
    assert await scope.count(AdviceVersion).where(
        (AdviceVersion.advice == draft.id) & (AdviceVersion.author == member.id)) == 0
    assert await scope.count(AdviceVersion).where(AdviceVersion.advice == draft.id) == 2
    # Submitted advice: the name goes, and it leaves the public ledger; the municipality keeps it.
    withdrawn = await _withdraw(client, advice.id)
    assert nl("Your contribution has been withdrawn.") in withdrawn.text
    kept = await scope.get(Advice, advice.id)
    assert kept.withdrawn_at is not None and kept.created_by is None
    assert not await scope.exists(AdviceVersion).where(AdviceVersion.author == member.id)
    ledger_page = await Browser(client).get("/t/alpha/ledger")
    assert item.title not in ledger_page.text
    await login(client, world["officer"].email)
    assert (await client.get(f"/t/alpha/advice-items/{item.id}")).status_code == 200
