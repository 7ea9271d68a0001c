"""HTTP routes of agreements, hours and expenses (thin controllers; the rules live in service.py
and claims.py)."""

from __future__ import annotations

from datetime import date

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File, Redirect, Response, Template

from portal.accounts.roles import PANEL_MEMBER, POLICY_OFFICER, TENANT_ADMIN
from portal.agreements import caps, exports, rules, service
from portal.agreements import claims as claim_rules
from portal.agreements import privacy as _privacy_parts  # noqa: F401 (registers export and erasure)
from portal.agreements.tables import Claim, OwnershipAgreement, PaymentAgreement
from portal.agreements.terms import cap_table_of, format_money, read_terms, terms_form
from portal.core import csvexport
from portal.core.context import flash
from portal.core.forms import Form
from portal.core.guards import requires_member, requires_role
from portal.core.i18n import _, ngettext
from portal.core.settings import Settings
from portal.core.states import TransitionError
from portal.core.templating import format_date, page
from portal.core.tenancy import TenantScope
from portal.core.web import read_form, request_context, see_other
from portal.panels.rules import AGE_BAND_LABELS
from portal.privacy.service import benefit_reminder
from portal.rounds.service import format_hours, today
from portal.rounds.tables import ConsultationRound

MANAGERS = requires_role(TENANT_ADMIN, POLICY_OFFICER)
MEMBERS = requires_role(PANEL_MEMBER)
LABELS = {
    "basis_labels": rules.BASIS_LABELS, "unit_labels": rules.UNIT_LABELS,
    "payment_status_labels": rules.PAYMENT_STATUS_LABELS, "owner_labels": rules.OWNER_LABELS,
    "licence_labels": rules.LICENCE_LABELS, "attribution_labels": rules.ATTRIBUTION_LABELS,
    "ownership_status_labels": rules.OWNERSHIP_STATUS_LABELS, "claim_kind_labels": rules.CLAIM_KIND_LABELS,
    "claim_status_labels": rules.CLAIM_STATUS_LABELS, "money": format_money, "hours": format_hours,
}


def _is_manager(request: Request) -> bool:
    return request_context(request).has_role(TENANT_ADMIN, POLICY_OFFICER)


def agreement_url(tenancy: TenantScope, agreement_id: int) -> str:
    return f"/t/{tenancy.tenant.slug}/agreements/{agreement_id}"


# --- the round's terms (officers) --------------------------------------------------------------


def _options(labels: dict) -> list[tuple[str, str]]:
    return [(key, _(label)) for key, label in labels.items()]


def _terms_page(request: Request, round_: ConsultationRound, form: Form, *, status_code: int = 200,
                problem: str | None = None, agreement: PaymentAgreement | None = None,
                member_name: str = "", excesses: list | None = None, checked: bool = False) -> Template:
    """The terms form: for the whole round, with the members the terms exceed a cap for
    (``excesses``; ``checked``: the officer asked for the check), or (``agreement``) for one member."""
    return page(request, "agreements/terms.html", status_code=status_code, round=round_, form=form,
                problem=problem, personal_story=service.personal_story(round_), agreement=agreement,
                member_name=member_name, excesses=excesses or [], checked=checked,
                activity_day=service.activity_day(round_), age_band_labels=AGE_BAND_LABELS,
                basis_options=_options(rules.BASIS_LABELS), owner_options=_options(rules.OWNER_LABELS),
                licence_options=_options(rules.LICENCE_LABELS),
                attribution_options=_options(rules.ATTRIBUTION_LABELS), money=format_money)


@get("/rounds/{round_id:int}/terms", guards=[MANAGERS])
async def terms(request: Request, tenancy: NamedDependency[TenantScope], round_id: FromPath[int]) -> Template:
    round_ = await tenancy.get(ConsultationRound, round_id)
    return _terms_page(request, round_, terms_form(await service.terms_for_form(tenancy, round_)),
                       excesses=await service.terms_above_caps(tenancy, round_))


@post("/rounds/{round_id:int}/terms", guards=[MANAGERS])
async def save_terms(request: Request, tenancy: NamedDependency[TenantScope], round_id: FromPath[int]) -> Template | Redirect:
    """Save the terms, or (the check button) show whom they would exceed a cap for, saving nothing."""
    round_ = await tenancy.get(ConsultationRound, round_id)
    form = await read_form(request)
    values = read_terms(form, activity_day=service.activity_day(round_), need=round_.need,
                        table=cap_table_of(tenancy.tenant))
    if not form.is_valid:
        return _terms_page(request, round_, form, status_code=422)
    if form.raw("action") == "check":
        return _terms_page(request, round_, form, checked=True,
                           excesses=await service.terms_above_caps(tenancy, round_, values))
    try:
        count = await service.save_round_terms(tenancy, round_, values, request_context(request).user)
    except service.AgreementError as error:
        return _terms_page(request, round_, form, status_code=409, problem=str(error))
    saved = (_("The terms have been saved. They were proposed to %(count)s members.", count=count)
             if round_.status == "sent" else _("The terms have been saved. They are proposed when the round is sent."))
    excesses = await service.terms_above_caps(tenancy, round_)
    if excesses:
        saved += " " + _("The terms are above a volunteer allowance cap for %(names)s: see the table.",
                         names=service.names_over_caps(excesses))
    flash(request.scope, saved)
    return see_other(f"/t/{tenancy.tenant.slug}/rounds/{round_.id}/agreements")


async def _member_terms_page(request: Request, tenancy: TenantScope, agreement: PaymentAgreement, form: Form,
                             **kwargs) -> Template:
    round_ = await tenancy.get(ConsultationRound, agreement.round)
    names = await service.display_names(tenancy, [agreement.user] if agreement.user else [])
    return _terms_page(request, round_, form, agreement=agreement, member_name=names.get(agreement.user, ""), **kwargs)


@get("/agreements/{agreement_id:int}/terms", guards=[MANAGERS])
async def member_terms(request: Request, tenancy: NamedDependency[TenantScope], agreement_id: FromPath[int]) -> Template:
    agreement = await tenancy.get(PaymentAgreement, agreement_id)
    return await _member_terms_page(request, tenancy, agreement, terms_form(await service.member_terms(tenancy, agreement)))


@post("/agreements/{agreement_id:int}/terms", guards=[MANAGERS])
async def propose_member_terms(request: Request, tenancy: NamedDependency[TenantScope],
                               agreement_id: FromPath[int]) -> Template | Redirect:
    agreement = await tenancy.get(PaymentAgreement, agreement_id)
    round_ = await tenancy.get(ConsultationRound, agreement.round)
    form = await read_form(request)
    values = read_terms(form, activity_day=service.activity_day(round_), need=round_.need,
                        table=cap_table_of(tenancy.tenant))
    if not form.is_valid:
        return await _member_terms_page(request, tenancy, agreement, form, status_code=422)
    try:
        await service.propose_to_member(tenancy, agreement, values, request_context(request).user)
    except service.AgreementError as error:
        form.add_error(error.field or "rate", str(error))
        return await _member_terms_page(request, tenancy, agreement, form, status_code=422)
    except TransitionError as error:
        return await _member_terms_page(request, tenancy, agreement, form, status_code=409, problem=str(error))
    flash(request.scope, _("The new terms have been proposed to the member."))
    return see_other(agreement_url(tenancy, agreement.id))


async def _round_agreements_page(request: Request, tenancy: TenantScope, round_: ConsultationRound, *,
                                 status_code: int = 200, problem: str | None = None) -> Template:
    return page(request, "agreements/round.html", status_code=status_code, problem=problem, round=round_,
                agreements=await service.round_agreements(tenancy, round_),
                has_terms=await service.round_terms(tenancy, round_.id) is not None,
                excesses=await service.terms_above_caps(tenancy, round_), checked=False,
                activity_day=service.activity_day(round_), age_band_labels=AGE_BAND_LABELS, **LABELS)


@get("/rounds/{round_id:int}/agreements", guards=[MANAGERS])
async def round_agreements(request: Request, tenancy: NamedDependency[TenantScope], round_id: FromPath[int]) -> Template:
    return await _round_agreements_page(request, tenancy, await tenancy.get(ConsultationRound, round_id))


@post("/rounds/{round_id:int}/agreements/propose", guards=[MANAGERS])
async def propose_to_members_without(request: Request, tenancy: NamedDependency[TenantScope],
                                     round_id: FromPath[int]) -> Template | Redirect:
    round_ = await tenancy.get(ConsultationRound, round_id)
    try:
        count = await service.propose_to_members_without(tenancy, round_, request_context(request).user)
    except service.AgreementError as error:
        return await _round_agreements_page(request, tenancy, round_, status_code=409, problem=str(error))
    flash(request.scope, ngettext("The terms have been proposed to %(num)s member.",
                                  "The terms have been proposed to %(num)s members.", count))
    return see_other(f"/t/{tenancy.tenant.slug}/rounds/{round_.id}/agreements")


# --- one member's agreements -------------------------------------------------------------------


async def _agreement_for(request: Request, tenancy: TenantScope, agreement_id: int) -> PaymentAgreement:
    """The payment agreement, for its member or an officer; 404 for anyone else."""
    agreement = await tenancy.get(PaymentAgreement, agreement_id)
    if agreement.user != request_context(request).user.id and not _is_manager(request):
        raise NotFoundException()
    return agreement


async def _agreement_page(request: Request, tenancy: TenantScope, agreement: PaymentAgreement, *,
                          status_code: int = 200, problem: str | None = None, claim_form: Form | None = None,
                          change_form: Form | None = None, approve_form: Form | None = None) -> Template:
    round_ = await tenancy.get(ConsultationRound, agreement.round)
    ownership = (await service.agreements_of(tenancy, agreement.round, agreement.user or 0))[1]
    entries = await claim_rules.claims_of(tenancy, [agreement.id])
    names = await service.display_names(tenancy, [agreement.user] if agreement.user else [])
    is_own = agreement.user == request_context(request).user.id
    manager = _is_manager(request)
    usage = await claim_rules.cap_usage(tenancy, agreement, today()) if manager else []
    return page(
        request, "agreements/detail.html", status_code=status_code, problem=problem, agreement=agreement,
        ownership=ownership, round=round_, claims=entries, total=claim_rules.total_approved(entries),
        pending_amounts=await claim_rules.pending_amounts(tenancy, agreement, entries) if manager else {},
        approve_form=approve_form or Form(), approve_field=_approve_field,
        member_name=names.get(agreement.user) or _("Former participant"),
        is_own=is_own, can_manage=manager,
        cap_usage=[(claim_rules.usage_line(use), use.share >= caps.WARNING_SHARE) for use in usage],
        benefit_reminder=await benefit_reminder(tenancy, agreement.user) if is_own else None,
        claim_form=claim_form if claim_form is not None else _new_claim_form(),
        change_form=change_form or Form(), can_log=agreement.status in rules.LOGGING_STATUSES,
        max_receipt_mb=rules.MAX_RECEIPT_BYTES // (1024 * 1024), today=today(), **LABELS,
    )


def _new_claim_form() -> Form:
    form = Form()
    form.values.update(kind="hours", activity_date=today().isoformat())
    return form


@get("/agreements", guards=[MEMBERS])
async def my_agreements(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    return page(request, "agreements/mine.html",
                agreements=await service.my_agreements(tenancy, request_context(request).user.id), **LABELS)


@get("/rounds/{round_id:int}/my-agreements", guards=[MEMBERS])
async def my_round_agreements(request: Request, tenancy: NamedDependency[TenantScope], round_id: FromPath[int]) -> Redirect:
    round_ = await tenancy.get(ConsultationRound, round_id)
    payment, _ownership = await service.agreements_of(tenancy, round_.id, request_context(request).user.id)
    if payment is None:
        flash(request.scope, _("No agreements have been proposed to you for this round yet. Ask the policy officer."))
        return Redirect(f"/t/{tenancy.tenant.slug}/agreements", status_code=303)
    return Redirect(agreement_url(tenancy, payment.id), status_code=303)


@get("/agreements/{agreement_id:int}", guards=[requires_member])
async def show_agreement(request: Request, tenancy: NamedDependency[TenantScope], agreement_id: FromPath[int]) -> Template:
    return await _agreement_page(request, tenancy, await _agreement_for(request, tenancy, agreement_id))


async def _answer(request: Request, tenancy: TenantScope, agreement, payment: PaymentAgreement, action) -> Template | Redirect:
    """Run the member's answer; a refusal shows the agreement page again with the message."""
    try:
        message = await action()
    except service.AgreementError as error:
        form = Form({"change_request": ""})
        form.add_error(error.field or "change_request", str(error))
        return await _agreement_page(request, tenancy, payment, status_code=422, change_form=form)
    except TransitionError as error:
        return await _agreement_page(request, tenancy, payment, status_code=409, problem=str(error))
    flash(request.scope, message)
    return see_other(agreement_url(tenancy, payment.id))


async def _ownership_and_payment(request: Request, tenancy: TenantScope, ownership_id: int):
    ownership = await tenancy.get(OwnershipAgreement, ownership_id)
    if ownership.user != request_context(request).user.id:
        raise NotFoundException()
    payment, _ownership = await service.agreements_of(tenancy, ownership.round, ownership.user)
    if payment is None:
        raise NotFoundException()
    return ownership, payment


def _accept_action(tenancy: TenantScope, agreement, user):
    async def action() -> str:
        await service.accept(tenancy, agreement, user)
        return _("You have accepted the agreement.")
    return action


def _change_action(tenancy: TenantScope, agreement, user, message: str):
    async def action() -> str:
        await service.request_change(tenancy, agreement, user, message)
        return _("Your request has been sent to the policy officer.")
    return action


@post("/agreements/{agreement_id:int}/accept", guards=[MEMBERS])
async def accept_payment(request: Request, tenancy: NamedDependency[TenantScope], agreement_id: FromPath[int]) -> Template | Redirect:
    agreement = await _agreement_for(request, tenancy, agreement_id)
    return await _answer(request, tenancy, agreement, agreement,
                         _accept_action(tenancy, agreement, request_context(request).user))


@post("/agreements/{agreement_id:int}/change", guards=[MEMBERS])
async def change_payment(request: Request, tenancy: NamedDependency[TenantScope], agreement_id: FromPath[int]) -> Template | Redirect:
    agreement = await _agreement_for(request, tenancy, agreement_id)
    form = await read_form(request)
    return await _answer(request, tenancy, agreement, agreement, _change_action(
        tenancy, agreement, request_context(request).user, form.raw("change_request")))


@post("/ownership/{ownership_id:int}/accept", guards=[MEMBERS])
async def accept_ownership(request: Request, tenancy: NamedDependency[TenantScope], ownership_id: FromPath[int]) -> Template | Redirect:
    ownership, payment = await _ownership_and_payment(request, tenancy, ownership_id)
    return await _answer(request, tenancy, ownership, payment,
                         _accept_action(tenancy, ownership, request_context(request).user))


@post("/ownership/{ownership_id:int}/change", guards=[MEMBERS])
async def change_ownership(request: Request, tenancy: NamedDependency[TenantScope], ownership_id: FromPath[int]) -> Template | Redirect:
    ownership, payment = await _ownership_and_payment(request, tenancy, ownership_id)
    form = await read_form(request)
    return await _answer(request, tenancy, ownership, payment, _change_action(
        tenancy, ownership, request_context(request).user, form.raw("ownership_change_request")))


# --- hours and expenses ------------------------------------------------------------------------


def _read_claim(form: Form) -> dict:
    kind = form.choice("kind", _("Kind of entry"), rules.CLAIM_KIND_LABELS)
    day = form.date("activity_date", _("Date of the activity"), required=True)
    if day is not None and day > today():
        form.add_error("activity_date", _("The date is in the future. Log hours and expenses afterwards."))
    values = {"kind": kind, "day": day, "description": form.text("description", _("Description"),
                                                                 required=False, max_length=300)}
    if kind == "expense":
        values["amount"] = form.decimal("amount", _("Amount in euros"), minimum="0.01", maximum=rules.MAX_EXPENSE)
        values["hours"] = None
    else:
        values["hours"] = form.decimal("hours", _("Hours"), minimum="0.25", maximum=rules.MAX_CLAIM_HOURS)
        values["amount"] = None
    return values


@post("/agreements/{agreement_id:int}/claims", guards=[MEMBERS])
async def log_claim(request: Request, tenancy: NamedDependency[TenantScope], settings: NamedDependency[Settings],
                    agreement_id: FromPath[int]) -> Template | Redirect:
    agreement = await _agreement_for(request, tenancy, agreement_id)
    data = await request.form()
    form = Form({key: value for key, value in data.items() if isinstance(value, str)})
    values = _read_claim(form)
    receipt = None
    upload = data.get("receipt")
    if isinstance(upload, UploadFile) and upload.filename:
        try:
            receipt = claim_rules.Receipt(upload.filename, await upload.read(rules.MAX_RECEIPT_BYTES + 1))
        finally:
            await upload.close()
    if values["kind"] == "expense" and receipt is None:
        form.add_error("receipt", _("Add the receipt: an expense is paid only against a receipt."))
    if not form.is_valid:
        return await _agreement_page(request, tenancy, agreement, status_code=422, claim_form=form)
    try:
        await claim_rules.log_claim(
            tenancy, agreement, request_context(request).user, kind=values["kind"], day=values["day"],
            hours=values["hours"], amount=values["amount"], description=values["description"],
            receipt=receipt, upload_dir=settings.upload_dir)
    except service.AgreementError as error:
        form.add_error(error.field or "kind", str(error))
        return await _agreement_page(request, tenancy, agreement, status_code=422, claim_form=form)
    except TransitionError as error:
        return await _agreement_page(request, tenancy, agreement, status_code=409, problem=str(error), claim_form=form)
    flash(request.scope, _("Your entry has been logged. The policy officer will look at it."))
    return see_other(agreement_url(tenancy, agreement.id))


def _approve_field(claim_id: int) -> str:
    """The amount field of one entry's approval form (one form per waiting entry on a page)."""
    return f"amount_{claim_id}"


async def _decide(request: Request, tenancy: TenantScope, claim_id: int, approve: bool) -> Template | Redirect:
    claim = await tenancy.get(Claim, claim_id)
    agreement = await tenancy.get(PaymentAgreement, claim.agreement)
    form = await read_form(request)
    field = _approve_field(claim.id)
    amount = form.decimal(field, _("Amount to approve"), minimum="0.01", maximum=rules.MAX_CLAIM_AMOUNT,
                          required=False) if approve else None
    if not form.is_valid:
        return await _agreement_page(request, tenancy, agreement, status_code=422, approve_form=form)
    try:
        warning = await claim_rules.decide(tenancy, claim, request_context(request).user, approve=approve,
                                           reason=form.raw("reason"), amount=amount)
    except service.AgreementError as error:
        if error.field == "amount":
            form.add_error(field, str(error))
            return await _agreement_page(request, tenancy, agreement, status_code=422, approve_form=form)
        return await _agreement_page(request, tenancy, agreement, status_code=422, problem=str(error))
    except TransitionError as error:
        return await _agreement_page(request, tenancy, agreement, status_code=409, problem=str(error))
    done = _("The entry has been approved.") if approve else _("The entry has been rejected.")
    flash(request.scope, f"{done} {warning}" if warning else done)
    return see_other(agreement_url(tenancy, agreement.id))


@post("/claims/{claim_id:int}/approve", guards=[MANAGERS])
async def approve_claim(request: Request, tenancy: NamedDependency[TenantScope], claim_id: FromPath[int]) -> Template | Redirect:
    return await _decide(request, tenancy, claim_id, True)


@post("/claims/{claim_id:int}/reject", guards=[MANAGERS])
async def reject_claim(request: Request, tenancy: NamedDependency[TenantScope], claim_id: FromPath[int]) -> Template | Redirect:
    return await _decide(request, tenancy, claim_id, False)


@get("/claims/{claim_id:int}/receipt", guards=[requires_member])
async def receipt(request: Request, tenancy: NamedDependency[TenantScope], settings: NamedDependency[Settings],
                  claim_id: FromPath[int]) -> File:
    claim = await tenancy.get(Claim, claim_id)
    await _agreement_for(request, tenancy, claim.agreement)
    path = claim_rules.receipt_path(settings.upload_dir, tenancy, claim)
    if path is None or not path.is_file():
        raise NotFoundException()
    return File(path=path, filename=claim.receipt_filename, media_type=claim.receipt_content_type,
                content_disposition_type="attachment",
                headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


# --- the officer's steps after approval --------------------------------------------------------


async def _officer_step(request: Request, tenancy: TenantScope, agreement_id: int, step, done: str) -> Template | Redirect:
    agreement = await tenancy.get(PaymentAgreement, agreement_id)
    try:
        await step(agreement)
    except (service.AgreementError, TransitionError) as error:
        return await _agreement_page(request, tenancy, agreement, status_code=409, problem=str(error))
    flash(request.scope, done)
    return see_other(agreement_url(tenancy, agreement.id))


@post("/agreements/{agreement_id:int}/submit", guards=[MANAGERS])
async def submit_agreement(request: Request, tenancy: NamedDependency[TenantScope], agreement_id: FromPath[int]) -> Template | Redirect:
    actor = request_context(request).user
    return await _officer_step(request, tenancy, agreement_id,
                               lambda agreement: claim_rules.submit_for_payment(tenancy, agreement, actor),
                               _("The agreement has been submitted for payment."))


@post("/agreements/{agreement_id:int}/paid", guards=[MANAGERS])
async def mark_paid(request: Request, tenancy: NamedDependency[TenantScope], agreement_id: FromPath[int]) -> Template | Redirect:
    actor = request_context(request).user
    form = await read_form(request)
    day = form.date("paid_on", _("Date paid")) or today()
    if not form.is_valid:
        agreement = await tenancy.get(PaymentAgreement, agreement_id)
        return await _agreement_page(request, tenancy, agreement, status_code=422, problem=form.errors["paid_on"])
    return await _officer_step(request, tenancy, agreement_id,
                               lambda agreement: claim_rules.mark_paid(tenancy, agreement, actor, day),
                               _("The payment has been recorded."))


@post("/agreements/{agreement_id:int}/withdraw", guards=[MANAGERS])
async def withdraw_agreement(request: Request, tenancy: NamedDependency[TenantScope], agreement_id: FromPath[int]) -> Template | Redirect:
    actor = request_context(request).user
    return await _officer_step(request, tenancy, agreement_id,
                               lambda agreement: service.withdraw(tenancy, agreement, actor),
                               _("The payment agreement has been withdrawn."))


# --- exports and statements -------------------------------------------------------------------


def _export_years() -> range:
    """The years an export may cover: none before the portal's payments, none far ahead."""
    return range(2000, today().year + 2)


def _export_date(form: Form, name: str, label: str) -> date | None:
    day = form.date(name, label, required=True)
    years = _export_years()
    if day is not None and day.year not in years:
        form.add_error(name, _("Choose a date in the years %(first)s to %(last)s.", first=years[0], last=years[-1]))
        return None
    return day


def _period(form: Form) -> tuple[date | None, date | None]:
    """The period of the form; without any dates, this year until today. An invalid date, a
    year out of range or an end before the start is an error on the field, never a guess."""
    if not form.raw("start").strip() and not form.raw("end").strip():
        start, end = today().replace(month=1, day=1), today()
        form.values.update(start=start.isoformat(), end=end.isoformat())
        return start, end
    start = _export_date(form, "start", _("Start date"))
    end = _export_date(form, "end", _("End date"))
    if start and end and end < start:
        form.add_error("end", _("The end date is before the start date. Choose an end date on or after %(start)s.",
                                start=format_date(start)))
    return start, end


def _query_form(request: Request) -> Form:
    return Form({key: value for key, value in request.query_params.items() if isinstance(value, str)})


def _year(form: Form) -> int:
    raw = form.raw("year").strip()
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else today().year


def _report_year(form: Form) -> int | None:
    """The year of the yearly report; a clear error on the field when it is not a year we have."""
    years = _export_years()
    raw = form.raw("year").strip()
    if raw.isdigit() and int(raw) in years:
        return int(raw)
    form.add_error("year", _("Choose a year from %(first)s to %(last)s.", first=years[0], last=years[-1]))
    return None


async def _payments_page(request: Request, tenancy: TenantScope, form: Form, report_form: Form) -> Template:
    """The payments of the form's period (none while it has errors: 422), and the export forms."""
    start, end = _period(form)
    payer = form.raw("payer")
    csvexport.read_dialect(form)
    valid = form.is_valid and report_form.is_valid
    rows = await exports.payment_lines(tenancy, start, end, payer) if form.is_valid else []
    return page(request, "agreements/payments.html", status_code=200 if valid else 422, form=form,
                report_form=report_form, rows=rows, payer=payer, payers=await exports.payers(tenancy),
                format_options=csvexport.dialect_options(), entry_status_labels=rules.ENTRY_STATUS_LABELS,
                **LABELS)


def _report_form() -> Form:
    """The yearly report's form: last year, whose report is due before 1 February."""
    form = Form()
    form.values.update(year=str(today().year - 1), report_format=csvexport.DEFAULT_DIALECT)
    return form


@get("/payments", guards=[MANAGERS])
async def payments(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    return await _payments_page(request, tenancy, _query_form(request), _report_form())


@get("/payments/export.csv", guards=[MANAGERS])
async def payments_csv(request: Request, tenancy: NamedDependency[TenantScope]) -> Template | Response:
    form = _query_form(request)
    start, end = _period(form)
    dialect = csvexport.read_dialect(form)
    if not form.is_valid:
        return await _payments_page(request, tenancy, form, _report_form())
    rows = await exports.payment_lines(tenancy, start, end, form.raw("payer"))
    return csvexport.csv_response(exports.payments_csv(rows, dialect), f"betalingen-{start}-{end}.csv")


@get("/payments/reportable.csv", guards=[MANAGERS])
async def reportable_csv(request: Request, tenancy: NamedDependency[TenantScope]) -> Template | Response:
    form = _query_form(request)
    year = _report_year(form)
    dialect = csvexport.read_dialect(form, "report_format")
    if not form.is_valid:
        return await _payments_page(request, tenancy, Form(), form)
    return csvexport.csv_response(await exports.reportable_csv(tenancy, year, dialect), f"opgaaf-{year}.csv")


def _statement_page(request: Request, name: str, statement: dict, url: str) -> Template:
    return page(request, "agreements/statement.html", member_name=name, statement_url=url, **statement, **LABELS)


@get("/statement", guards=[MEMBERS])
async def my_statement(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    user = request_context(request).user
    statement = await exports.statement(tenancy, user.id, _year(_query_form(request)))
    return _statement_page(request, user.name, statement, f"/t/{tenancy.tenant.slug}/statement")


@get("/agreements/{agreement_id:int}/statement", guards=[MANAGERS])
async def member_statement(request: Request, tenancy: NamedDependency[TenantScope], agreement_id: FromPath[int]) -> Template:
    """The statement of the member of this agreement, for an officer to print or send."""
    agreement = await tenancy.get(PaymentAgreement, agreement_id)
    statement = await exports.statement(tenancy, agreement.user or 0, _year(_query_form(request)))
    name = (await exports.payee_name(tenancy, agreement)) or _("Former participant")
    return _statement_page(request, name, statement, agreement_url(tenancy, agreement.id) + "/statement")


route_handlers = [
    payments,
    payments_csv,
    reportable_csv,
    my_statement,
    member_statement,
    terms,
    save_terms,
    round_agreements,
    propose_to_members_without,
    member_terms,
    propose_member_terms,
    my_agreements,
    my_round_agreements,
    show_agreement,
    accept_payment,
    change_payment,
    accept_ownership,
    change_ownership,
    log_claim,
    approve_claim,
    reject_claim,
    receipt,
    submit_agreement,
    mark_paid,
    withdraw_agreement,
]
