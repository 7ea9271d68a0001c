"""Who sees which consultation rounds: every rule of portal/rounds/visibility.py."""

from __future__ import annotations

import pytest

from portal.core.context import RequestContext
from portal.core.tenancy import TenantScope
from portal.cycles.tables import Stage
from portal.rounds import service
from portal.rounds.visibility import can_see_round, visible_round_ids, visible_rounds
from tests.support import (
    build_panel,
    build_panel_member,
    build_round,
    build_stage,
    make_tenant,
    make_user,
)


def context(tenant, user, *roles: str) -> RequestContext:
    return RequestContext(user=user, tenant=tenant, roles=set(roles))


@pytest.fixture
async def world():
    """Tenant alpha with three panels and rounds in every state; tenant beta beside it."""
    alpha = await make_tenant("alpha")
    stage = await build_stage(alpha)
    parents = await build_panel(alpha, "Ouderpanel", "parents")
    youth = await build_panel(alpha, "Jongerenpanel", "youth")
    third = await build_panel(alpha, "Derde panel", "mixed")
    supporter = await make_user("steun@alpha.example", tenant=alpha, roles=("support_contact",))
    idle_supporter = await make_user("rust@alpha.example", tenant=alpha, roles=("support_contact",))
    people = {
        "officer": await make_user("beleid@alpha.example", tenant=alpha, roles=("policy_officer",)),
        "admin": await make_user("beheer@alpha.example", tenant=alpha, roles=("tenant_admin",)),
        "council": await make_user("raad@alpha.example", tenant=alpha, roles=("council_member",)),
        "parent": await build_panel_member(alpha, parents, "ouder@alpha.example", support_contact=supporter),
        "young": await build_panel_member(alpha, youth, "jong@alpha.example"),
        "third": await build_panel_member(alpha, third, "derde@alpha.example"),
        "paused": await build_panel_member(alpha, parents, "pauze@alpha.example", status="paused",
                                           support_contact=idle_supporter),
        "supporter": supporter,
        "idle_supporter": idle_supporter,
    }
    rounds = {
        "draft": await build_round(alpha, stage, title="Concept", panels=[parents, youth]),
        "sent_parents": await build_round(alpha, stage, title="Ouders", status="sent", panels=[parents]),
        "closed_youth": await build_round(alpha, stage, title="Jongeren", status="closed", panels=[youth]),
        "sent_third": await build_round(alpha, stage, title="Derde", status="sent", panels=[third]),
        "sent_nobody": await build_round(alpha, stage, title="Niemand", status="sent"),
    }
    beta = await make_tenant("beta")
    beta_panel = await build_panel(beta, "Beta-ouders", "parents")
    people["beta_member"] = await build_panel_member(beta, beta_panel, "ouder@beta.example")
    beta_stage = await build_stage(beta)
    rounds["beta"] = await build_round(beta, beta_stage, title="Beta", status="sent", panels=[beta_panel])
    return {"alpha": alpha, "beta": beta, "people": people, "rounds": rounds}


async def ids_seen(world, who: str, *roles: str, tenant: str = "alpha") -> set[str] | None:
    tenant_row = world[tenant]
    ids = await visible_round_ids(TenantScope(tenant_row), context(tenant_row, world["people"][who], *roles))
    if ids is None:
        return None
    names = {round_.id: name for name, round_ in world["rounds"].items()}
    return {names[round_id] for round_id in ids}


async def sees(world, who: str, round_name: str, *roles: str) -> bool:
    alpha = world["alpha"]
    return await can_see_round(
        TenantScope(alpha), context(alpha, world["people"][who], *roles), world["rounds"][round_name]
    )


ALPHA_PUBLISHED = {"sent_parents", "closed_youth", "sent_third", "sent_nobody"}


@pytest.mark.parametrize(("who", "role"), [("officer", "policy_officer"), ("admin", "tenant_admin")])
async def test_managers_see_every_round_including_drafts(world, who, role):
    assert await ids_seen(world, who, role) is None
    assert await sees(world, who, "draft", role)
    listed = await visible_rounds(TenantScope(world["alpha"]), context(world["alpha"], world["people"][who], role))
    assert {round_.title for round_ in listed} == {"Concept", "Ouders", "Jongeren", "Derde", "Niemand"}


async def test_council_members_see_sent_and_closed_rounds_never_a_draft(world):
    assert await ids_seen(world, "council", "council_member") == ALPHA_PUBLISHED
    assert not await sees(world, "council", "draft", "council_member")
    assert await sees(world, "council", "sent_nobody", "council_member")


async def test_panel_members_see_only_published_rounds_of_their_own_panels(world):
    assert await ids_seen(world, "parent", "panel_member") == {"sent_parents"}
    assert await ids_seen(world, "young", "panel_member") == {"closed_youth"}
    assert not await sees(world, "parent", "draft", "panel_member")  # invited, but still a draft
    assert not await sees(world, "parent", "sent_third", "panel_member")


async def test_a_member_of_a_third_panel_sees_only_that_panels_round(world):
    assert await ids_seen(world, "third", "panel_member") == {"sent_third"}
    assert not await sees(world, "third", "sent_parents", "panel_member")
    assert not await sees(world, "third", "closed_youth", "panel_member")


async def test_a_paused_member_sees_nothing(world):
    assert await ids_seen(world, "paused", "panel_member") == set()


async def test_support_contacts_see_the_rounds_of_the_members_they_support(world):
    assert await ids_seen(world, "supporter", "support_contact") == {"sent_parents"}
    assert not await sees(world, "supporter", "draft", "support_contact")
    # The only member this person supports is paused: nothing.
    assert await ids_seen(world, "idle_supporter", "support_contact") == set()


async def test_a_membership_without_the_role_gives_nothing(world):
    """Panel rows alone are not enough: the role in this tenant must be there too."""
    assert await ids_seen(world, "parent") == set()
    assert await ids_seen(world, "supporter", "panel_member") == set()


async def test_several_roles_see_the_union(world):
    alpha, people = world["alpha"], world["people"]
    youth = (await service.invited_panels(TenantScope(alpha), world["rounds"]["closed_youth"].id))[0]
    from portal.panels.tables import Panel

    await build_panel_member(alpha, await TenantScope(alpha).get(Panel, youth["id"]),
                             "", user=people["supporter"])
    assert await ids_seen(world, "supporter", "support_contact", "panel_member") == {
        "sent_parents", "closed_youth"
    }
    assert await ids_seen(world, "parent", "panel_member", "council_member") == ALPHA_PUBLISHED


async def test_another_tenants_member_sees_nothing_here_and_nothing_of_here_there(world):
    beta, alpha, people = world["beta"], world["alpha"], world["people"]
    # In beta, the beta member sees the beta round only; alpha's rounds do not exist there.
    assert await ids_seen(world, "beta_member", "panel_member", tenant="beta") == {"beta"}
    assert not await can_see_round(
        TenantScope(beta), context(beta, people["beta_member"], "panel_member"),
        world["rounds"]["sent_parents"],
    )
    # In alpha the beta member holds no role: nothing.
    assert await ids_seen(world, "beta_member") == set()
    # A manager of alpha does not see beta's round either.
    assert not await can_see_round(
        TenantScope(alpha), context(alpha, people["officer"], "policy_officer"), world["rounds"]["beta"]
    )


async def test_nobody_logged_in_sees_nothing(world):
    alpha = world["alpha"]
    assert await visible_round_ids(TenantScope(alpha), RequestContext(tenant=alpha)) == set()


async def test_my_rounds_lists_the_panel_rounds_only(world):
    alpha, people = world["alpha"], world["people"]
    mine = await service.my_rounds(TenantScope(alpha), context(alpha, people["parent"], "panel_member"))
    assert [row["title"] for row in mine] == ["Ouders"]
    supported = await service.my_rounds(
        TenantScope(alpha), context(alpha, people["supporter"], "support_contact")
    )
    assert [row["title"] for row in supported] == ["Ouders"]
    assert await service.my_rounds(TenantScope(alpha), context(alpha, people["council"], "council_member")) == []


async def test_the_stage_page_context_shows_each_person_their_rounds(world):
    alpha, people = world["alpha"], world["people"]
    scope = TenantScope(alpha)
    stage = await scope.get(Stage, world["rounds"]["draft"].stage)
    officer = await service.stage_rounds_context(scope, stage, context(alpha, people["officer"], "policy_officer"))
    assert officer["can_manage"] and len(officer["rounds"]) == 5
    assert officer["stage_warnings"] == []  # the parent panel is invited to a round here
    council = await service.stage_rounds_context(scope, stage, context(alpha, people["council"], "council_member"))
    assert not council["can_manage"] and council["stage_warnings"] == []
    assert {round_.title for round_ in council["rounds"]} == {"Ouders", "Jongeren", "Derde", "Niemand"}
    member = await service.stage_rounds_context(scope, stage, context(alpha, people["young"], "panel_member"))
    assert [round_.title for round_ in member["rounds"]] == ["Jongeren"]
