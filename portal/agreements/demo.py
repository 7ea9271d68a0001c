"""Demo agreements: the members of the sent demo round have accepted their terms, so they can
post; one member (``PROPOSED_FOR``) still has proposed terms to look at and accept."""

from __future__ import annotations

from portal.accounts.tables import User
from portal.agreements import service
from portal.agreements.tables import OwnershipAgreement, PaymentAgreement
from portal.core.tenancy import TenantScope
from portal.rounds.tables import ConsultationRound

PROPOSED_FOR = "vader@voorbeeldstad.example"


async def accept_demo_agreements(scope: TenantScope, round_: ConsultationRound) -> None:
    waiting = await User.select(User.id).where(User.email == PROPOSED_FOR).first()
    for table in (PaymentAgreement, OwnershipAgreement):
        for agreement in await scope.objects(table).where(table.round == round_.id):
            if waiting is None or agreement.user != waiting["id"]:
                await service.accept(scope, agreement, await User.objects().get(User.id == agreement.user))
