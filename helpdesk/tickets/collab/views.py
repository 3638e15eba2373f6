"""The ticket page's approvals, solution and sharing panels, the approver's pending list and
the "shared with my departments" list (TKT-04).

The ticket page loads each panel with htmx after it renders (`hx-get` on load), so the page's
own queries stay as they were; without JavaScript the panel's link opens the same panel as a
page. A panel's form posts to its URL: htmx gets the fresh panel (with the errors, if any),
a plain post a redirect to the ticket (or the panel page with the errors, status 400)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors, client_ip
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from ..html import html_to_text
from ..models import Ticket
from ..services.access import (
    OWN,
    can,
    department_ids,
    shared_tickets,
    ticket_access,
    ticket_can,
    ticket_for_member,
)
from .forms import (
    ApprovalDecisionForm,
    ApprovalRequestForm,
    ShareForm,
    SolutionForm,
    SolutionReuseForm,
)
from .models import Approval, ShareLevel, TicketShare
from .services.approvals import (
    approval_candidates,
    approval_decide,
    approval_request,
    approval_withdraw,
    pending_for,
    ticket_approvals,
)
from .services.shares import share_targets, ticket_share, ticket_shares, ticket_unshare
from .services.solutions import solution_reuse_as_canned, solution_save, ticket_solution

PANEL_TITLES = {
    "approvals": "tickets/collab/_approvals.html",
    "solution": "tickets/collab/_solution.html",
    "sharing": "tickets/collab/_sharing.html",
}


def _ticket(request: HttpRequest, number: int) -> Ticket:
    return ticket_for_member(request.membership, number, related=("status", "department"))


def _answer(
    request: HttpRequest,
    ticket: Ticket,
    panel: str,
    context: dict[str, Any],
    *,
    done: str = "",
    failed: bool = False,
) -> HttpResponse:
    """htmx: the fresh panel. A plain post: back to the ticket when it worked, else the panel
    as a page with its errors (400). A plain GET: the panel as a page."""
    template = PANEL_TITLES[panel]
    if request.htmx:
        if done:
            context["done"] = done
        return render(request, template, context)
    if request.method == "POST" and not failed:
        if done:
            messages.success(request, done)
        url = reverse(
            "desk:ticket_detail", kwargs={"portal": request.org.portal, "number": ticket.number}
        )
        return redirect(f"{url}#collab-{panel}")
    return render(
        request,
        "tickets/collab/panel_page.html",
        {**context, "panel_template": template, "panel": panel},
        status=400 if failed else 200,
    )


# --- Approvals -------------------------------------------------------------------------------
def approvals_context(
    request: HttpRequest,
    ticket: Ticket,
    *,
    form: ApprovalRequestForm | None = None,
    decision_forms: dict[int, ApprovalDecisionForm] | None = None,
) -> dict[str, Any]:
    membership = request.membership
    may_request = ticket_can(membership, ticket, "approval")
    candidates = (
        [m for m in approval_candidates(ticket=ticket) if m.user_id != membership.user_id]
        if may_request
        else []
    )
    approvals = ticket_approvals(ticket=ticket)
    decision_forms = decision_forms or {}
    for approval in approvals:
        mine = next(
            (d for d in approval.decision_list if d.approver_id == membership.user_id), None
        )
        approval.may_answer = (
            approval.is_pending and mine is not None and mine.decision == "pending"
        )
        approval.may_withdraw = approval.is_pending and approval.requested_by_id == (
            membership.user_id
        )
        approval.form = decision_forms.get(approval.pk) or ApprovalDecisionForm(
            prefix=f"decision-{approval.pk}"
        )
    return {
        "ticket": ticket,
        "approvals": approvals,
        "may_request": may_request,
        "form": form or ApprovalRequestForm(candidates=candidates, prefix="approval"),
    }


@require_app(App.DESK)
def approvals_panel(request: HttpRequest, number: int) -> HttpResponse:
    """GET: the panel. POST: request an approval from the chosen approvers, with a note."""
    ticket = _ticket(request, number)
    if request.method != "POST":
        return _answer(request, ticket, "approvals", approvals_context(request, ticket))
    candidates = [
        m for m in approval_candidates(ticket=ticket) if m.user_id != request.membership.user_id
    ]
    form = ApprovalRequestForm(request.POST, candidates=candidates, prefix="approval")
    done = ""
    if form.is_valid():
        wanted = set(form.cleaned_data["approvers"])
        try:
            approval_request(
                actor=request.membership,
                ticket=ticket,
                approvers=[m.user for m in candidates if m.user_id in wanted],
                note=form.cleaned_data["note"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            done = _("Approval requested.")
            form = None
    context = approvals_context(request, ticket, form=form)
    return _answer(request, ticket, "approvals", context, done=done, failed=not done)


def _approval(request: HttpRequest, ticket: Ticket, approval_id: int) -> Approval:
    approval = Approval.objects.for_org(request.org).filter(pk=approval_id, ticket=ticket).first()
    if approval is None:
        raise Http404
    return approval


@require_POST
@require_app(App.DESK)
def approval_decide_view(request: HttpRequest, number: int, approval_id: int) -> HttpResponse:
    """Approve or reject (`decision-<id>-decision`), with a comment (needed to reject)."""
    ticket = _ticket(request, number)
    approval = _approval(request, ticket, approval_id)
    form = ApprovalDecisionForm(request.POST, prefix=f"decision-{approval.pk}")
    done = ""
    if form.is_valid():
        try:
            approval_decide(
                actor=request.membership,
                approval=approval,
                approve=form.cleaned_data["decision"] == "approve",
                comment=form.cleaned_data["comment"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            done = (
                _("You approved it.")
                if form.cleaned_data["decision"] == "approve"
                else _("You rejected it.")
            )
    context = approvals_context(request, ticket, decision_forms={} if done else {approval.pk: form})
    return _answer(request, ticket, "approvals", context, done=done, failed=not done)


@require_POST
@require_app(App.DESK)
def approval_withdraw_view(request: HttpRequest, number: int, approval_id: int) -> HttpResponse:
    ticket = _ticket(request, number)
    approval = _approval(request, ticket, approval_id)
    error = ""
    try:
        approval_withdraw(actor=request.membership, approval=approval, ip=client_ip(request))
    except ValidationError as exc:
        error = " ".join(exc.messages)
    context = approvals_context(request, ticket)
    context["error"] = error
    done = "" if error else _("Approval withdrawn.")
    return _answer(request, ticket, "approvals", context, done=done, failed=bool(error))


@require_app(App.DESK)
def pending_approvals(request: HttpRequest) -> HttpResponse:
    """The approvals waiting for my answer, on tickets I still see; `?count=1` answers with
    their number only (the dashboard loads it after the page)."""
    rows = [
        d
        for d in pending_for(member=request.membership)[:200]
        if ticket_access(request.membership, d.approval.ticket) is not None
    ]
    if request.GET.get("count") == "1":
        return HttpResponse(str(len(rows)))
    return render(request, "tickets/collab/pending_approvals.html", {"rows": rows})


# --- Solution --------------------------------------------------------------------------------
def solution_context(
    request: HttpRequest,
    ticket: Ticket,
    *,
    form: SolutionForm | None = None,
    reuse_form: SolutionReuseForm | None = None,
) -> dict[str, Any]:
    solution = ticket_solution(ticket=ticket)
    may_edit = ticket_can(request.membership, ticket, "solution")
    if form is None:
        form = SolutionForm(prefix="solution")
        if solution is not None:
            form.fields["body"].widget.attrs["data-editor-html"] = solution.body
            form.initial["body"] = html_to_text(solution.body)
    return {
        "ticket": ticket,
        "solution": solution,
        "may_edit": may_edit,
        "editing": request.GET.get("edit") == "1" or form.is_bound,
        "form": form,
        # Department canned responses are the Desk admins' (the canned service refuses others).
        "may_reuse": solution is not None and request.membership.is_app_admin(App.DESK),
        "reuse_form": reuse_form or SolutionReuseForm(prefix="reuse"),
    }


@require_app(App.DESK)
def solution_panel(request: HttpRequest, number: int) -> HttpResponse:
    """GET: the panel (`?edit=1`: with the editor open). POST: save the solution."""
    ticket = _ticket(request, number)
    if request.method != "POST":
        return _answer(request, ticket, "solution", solution_context(request, ticket))
    form = SolutionForm(request.POST, prefix="solution")
    done = ""
    if form.is_valid():
        try:
            solution_save(
                actor=request.membership,
                ticket=ticket,
                body=form.cleaned_data["body"],
                body_format=form.cleaned_data["body_format"] or "text",
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            done = _("Solution saved.")
            form = None
    context = solution_context(request, ticket, form=form)
    return _answer(request, ticket, "solution", context, done=done, failed=not done)


@require_POST
@require_app(App.DESK)
def solution_reuse_view(request: HttpRequest, number: int) -> HttpResponse:
    """Make the solution a canned response of the ticket's department."""
    ticket = _ticket(request, number)
    form = SolutionReuseForm(request.POST, prefix="reuse")
    done = ""
    if form.is_valid():
        try:
            canned = solution_reuse_as_canned(
                actor=request.membership,
                ticket=ticket,
                title=form.cleaned_data["title"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            done = _("Canned response “%(title)s” created for %(department)s.") % {
                "title": canned.title,
                "department": ticket.department.name,
            }
            form = None
    context = solution_context(request, ticket, reuse_form=form)
    return _answer(request, ticket, "solution", context, done=done, failed=not done)


# --- Sharing ---------------------------------------------------------------------------------
def sharing_context(
    request: HttpRequest, ticket: Ticket, *, form: ShareForm | None = None
) -> dict[str, Any]:
    membership = request.membership
    may_share = ticket_access(membership, ticket) == OWN and can(membership, "edit")
    level = ticket_access(membership, ticket)
    return {
        "ticket": ticket,
        "shares": list(ticket_shares(ticket=ticket)),
        "may_share": may_share,
        "my_level": None if level in (None, OWN) else ShareLevel(level),
        "levels": ShareLevel,
        "form": form or ShareForm(departments=share_targets(ticket=ticket), prefix="share"),
    }


@require_app(App.DESK)
def sharing_panel(request: HttpRequest, number: int) -> HttpResponse:
    """GET: the panel. POST: share with a department at a level (or change its level)."""
    ticket = _ticket(request, number)
    if request.method != "POST":
        return _answer(request, ticket, "sharing", sharing_context(request, ticket))
    form = ShareForm(request.POST, departments=share_targets(ticket=ticket), prefix="share")
    done = ""
    if form.is_valid():
        try:
            share = ticket_share(
                actor=request.membership,
                ticket=ticket,
                department=form.cleaned_data["department"],
                level=form.cleaned_data["level"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            done = _("Shared with %(department)s: %(level)s.") % {
                "department": form.cleaned_data["department"].name,
                "level": ShareLevel(share.level).label,
            }
            form = None
    context = sharing_context(request, ticket, form=form)
    return _answer(request, ticket, "sharing", context, done=done, failed=not done)


@require_POST
@require_app(App.DESK)
def share_revoke_view(request: HttpRequest, number: int, share_id: int) -> HttpResponse:
    ticket = _ticket(request, number)
    share = (
        TicketShare.objects.for_org(request.org)
        .filter(pk=share_id, ticket=ticket)
        .select_related("department")
        .first()
    )
    if share is None:
        raise Http404
    ticket_unshare(actor=request.membership, ticket=ticket, share=share, ip=client_ip(request))
    done = _("%(department)s no longer sees this ticket.") % {"department": share.department.name}
    return _answer(request, ticket, "sharing", sharing_context(request, ticket), done=done)


@require_app(App.DESK)
def shared_with_me(request: HttpRequest) -> HttpResponse:
    """Tickets of other departments shared with one of my departments, newest first, with
    the level each is shared at."""
    membership = request.membership
    ids = department_ids(membership) or []
    tickets = list(
        shared_tickets(membership)
        .defer("search_vector")
        .select_related("status", "department")
        .order_by("-created_at", "-id")[:200]
    )
    levels: dict[int, int] = {}
    for ticket_id, level in (
        TicketShare.objects.for_org(request.org)
        .filter(ticket_id__in=[t.pk for t in tickets], department_id__in=ids)
        .values_list("ticket_id", "level")
    ):
        levels[ticket_id] = max(level, levels.get(ticket_id, 0))
    rows = [(t, ShareLevel(levels[t.pk])) for t in tickets if t.pk in levels]
    return render(
        request,
        "tickets/collab/shared_tickets.html",
        {"rows": rows, "is_admin": department_ids(membership) is None},
    )
