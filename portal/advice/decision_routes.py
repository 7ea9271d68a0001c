"""HTTP routes of decisions (with an uploaded document or a link), the council's adoption
overview per cycle and the public advice ledger."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File, Redirect, Template

from portal.accounts.roles import COUNCIL_MEMBER, POLICY_OFFICER, TENANT_ADMIN
from portal.advice import outcomes
from portal.advice.documents import AdviceError
from portal.advice.overview import cycle_overview, decision_page, ledger
from portal.advice.rules import DECISION_KIND_LABELS, RESPONSE_STATUS_LABELS
from portal.advice.tables import Decision
from portal.core.context import flash
from portal.core.forms import Form
from portal.core.guards import requires_role
from portal.core.i18n import _
from portal.core.settings import Settings
from portal.core.templating import page
from portal.core.tenancy import TenantScope
from portal.core.web import request_context, see_other
from portal.cycles.tables import PolicyCycle
from portal.rounds.rules import MAX_DOCUMENT_BYTES
from portal.rounds.service import format_file_size
from portal.tenants.settings import tenant_setting

MANAGERS = requires_role(TENANT_ADMIN, POLICY_OFFICER)
READERS = requires_role(TENANT_ADMIN, POLICY_OFFICER, COUNCIL_MEMBER)


async def _decisions_page(request: Request, tenancy: TenantScope, form: Form, status_code: int = 200) -> Template:
    return page(
        request, "advice/decisions.html", status_code=status_code, form=form,
        decisions=await tenancy.objects(Decision).order_by(Decision.decided_on, ascending=False).order_by(
            Decision.id, ascending=False),
        cycles=await tenancy.select(PolicyCycle, PolicyCycle.id, PolicyCycle.title).order_by(PolicyCycle.title),
        kind_labels=DECISION_KIND_LABELS, max_document_mb=MAX_DOCUMENT_BYTES // (1024 * 1024),
    )


@get("/decisions", guards=[READERS])
async def list_decisions(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    return await _decisions_page(request, tenancy, Form())


@post("/decisions", guards=[MANAGERS])
async def create_decision(request: Request, tenancy: NamedDependency[TenantScope],
                          settings: NamedDependency[Settings]) -> Template | Redirect:
    data = await request.form()
    form = Form({key: value for key, value in data.items() if isinstance(value, str)})
    values = await outcomes.parse_decision_form(tenancy, form)
    upload = data.get("document")
    content = None
    if isinstance(upload, UploadFile) and upload.filename:
        try:
            # One byte more than allowed is enough to know that it is too large.
            content = (upload.filename, await upload.read(MAX_DOCUMENT_BYTES + 1))
        finally:
            await upload.close()
    if not form.is_valid:
        return await _decisions_page(request, tenancy, form, status_code=422)
    with form.catch_as_error(AdviceError, "document"):
        decision = await outcomes.create_decision(tenancy, values, content, settings.upload_dir,
                                                  request_context(request).user)
    if not form.is_valid:
        return await _decisions_page(request, tenancy, form, status_code=422)
    flash(request.scope, _("The decision has been recorded. Link advice items to it from their pages."))
    return see_other(f"/t/{tenancy.tenant.slug}/decisions/{decision.id}")


@get("/decisions/{decision_id:int}", guards=[READERS])
async def show_decision(request: Request, tenancy: NamedDependency[TenantScope],
                        decision_id: FromPath[int]) -> Template:
    decision = await tenancy.get(Decision, decision_id)
    return page(request, "advice/decision.html", kind_labels=DECISION_KIND_LABELS,
                response_labels=RESPONSE_STATUS_LABELS, file_size=format_file_size,
                **await decision_page(tenancy, request_context(request), decision))


@get("/decisions/{decision_id:int}/document", guards=[READERS])
async def download_decision_document(request: Request, tenancy: NamedDependency[TenantScope],
                                     settings: NamedDependency[Settings], decision_id: FromPath[int]) -> File:
    decision = await tenancy.get(Decision, decision_id)
    path = outcomes.decision_path(settings.upload_dir, tenancy, decision)
    if path is None or not path.is_file():
        raise NotFoundException()
    return File(path=path, filename=decision.filename, media_type=decision.content_type,
                content_disposition_type="attachment",
                headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@get("/cycles/{cycle_id:int}/advice-overview", guards=[READERS])
async def advice_overview(request: Request, tenancy: NamedDependency[TenantScope], cycle_id: FromPath[int]) -> Template:
    cycle = await tenancy.get(PolicyCycle, cycle_id)
    return page(request, "advice/overview.html", response_labels=RESPONSE_STATUS_LABELS,
                **await cycle_overview(tenancy, cycle))


@get("/ledger")
async def public_ledger(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    """Readable without logging in, when the tenant has turned the ledger on."""
    if not tenant_setting(tenancy.tenant, "public_advice_ledger"):
        raise NotFoundException()
    return page(request, "advice/ledger.html", entries=await ledger(tenancy), tenant=tenancy.tenant,
                response_labels=RESPONSE_STATUS_LABELS, kind_labels=DECISION_KIND_LABELS)


route_handlers = [
    list_decisions,
    create_decision,
    show_decision,
    download_decision_document,
    advice_overview,
    public_ledger,
]
