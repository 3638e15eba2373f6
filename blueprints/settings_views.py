"""Setup → Blueprints (BP-01..BP-12, BP-16..BP-21, BP-24): the list per department (order,
status, tickets in each, activate / deactivate, delete, remove from all tickets) and the forms
of a blueprint, its states and its transitions, without the drawing editor. Thin views: read
the form, call one service of `blueprints.services` (which validates and writes in one
transaction), show its errors where they belong."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors, client_ip
from helpdesk.tenancy.models import App, Department
from helpdesk.tenancy.permissions import require_app_admin
from helpdesk.tickets.rules.views import builder_schema

from . import services as bp
from .forms import (
    BlueprintForm,
    DuringFieldFormSet,
    StatesForm,
    TransitionForm,
    during_field_initial,
    field_choices,
)
from .models import Blueprint, BlueprintStatus, State, TicketBlueprint, Transition
from .panels import state_columns
from .removal.models import RemovalJob
from .removal.services import latest_jobs
from .removal.services import removal_start as removal_job_start
from .tasks import blueprint_removal_task

desk_admin_required = require_app_admin(App.DESK)


def _blueprint(request: HttpRequest, blueprint_id: int) -> Blueprint:
    return get_object_or_404(
        Blueprint.objects.for_org(request.org).select_related("department"),  # type: ignore[attr-defined]
        pk=blueprint_id,
    )


def _plan_allows(org: Any) -> bool:
    return bool(org.limit("blueprints_per_department"))


def _show_errors(form: Any, exc: ValidationError, sections: dict[str, list[str]]) -> None:
    """The service's errors on the form's fields; those of a group of fields (owners, fields,
    actions) in `sections`, shown beside that group."""
    if not hasattr(exc, "error_dict"):
        apply_errors(form, exc)
        return
    for key, errors in exc.error_dict.items():
        texts = [m for e in errors for m in e.messages]
        if key in form.fields:
            form.add_error(key, texts)
        elif key in ("owners", "fields", "actions"):
            sections.setdefault(key, []).extend(texts)
        else:
            form.add_error(None, texts)


def _moved(request: HttpRequest, blueprints: list[Blueprint]) -> tuple[int, str] | None:
    """After ↑/↓: which row's button gets the focus (the same direction, or the other one
    when the row reached the end of the list)."""
    try:
        pk = int(request.GET.get("moved", ""))
    except ValueError:
        return None
    ids = [b.pk for b in blueprints]
    if pk not in ids:
        return None
    direction = "down" if request.GET.get("dir") == "down" else "up"
    at = ids.index(pk)
    if direction == "up" and at == 0:
        direction = "down"
    elif direction == "down" and at == len(ids) - 1:
        direction = "up"
    return pk, direction


# --- The list -----------------------------------------------------------------------------------
@desk_admin_required
def blueprint_list(request: HttpRequest, dept_id: int | None = None) -> HttpResponse:
    """The blueprints of one department in the order they apply (BP-21), with their status and
    the number of tickets in each."""
    org = request.org  # type: ignore[attr-defined]
    departments = list(Department.objects.for_org(org).order_by("name"))
    if dept_id is not None:
        department = get_object_or_404(Department.objects.for_org(org), pk=dept_id)
    elif departments:
        # The organization's first department (its default one, made at sign-up).
        department = min(departments, key=lambda d: d.pk)
    else:  # pragma: no cover - an organization always has a department
        raise PermissionDenied
    blueprints = list(
        Blueprint.objects.for_org(org)
        .filter(department=department)
        .annotate(ticket_count=Count("instances", distinct=True))
        .order_by("position", "pk")
    )
    jobs = latest_jobs(org, [b.pk for b in blueprints])
    for blueprint in blueprints:
        blueprint.job = jobs.get(blueprint.pk)  # type: ignore[attr-defined]
    limit = org.limit("blueprints_per_department") or 0
    return render(
        request,
        "blueprints/settings/list.html",
        {
            "department": department,
            "departments": departments,
            "blueprints": blueprints,
            "plan_allows": _plan_allows(org),
            "active_limit": limit,
            "active_count": sum(1 for b in blueprints if b.is_active),
            "moved": _moved(request, blueprints),
        },
    )


@require_POST
@desk_admin_required
def blueprint_action(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    """One button of the list: up, down, activate, deactivate, delete."""
    blueprint = _blueprint(request, blueprint_id)
    actor = request.membership  # type: ignore[attr-defined]
    action = request.POST.get("action", "")
    name = blueprint.name
    try:
        if action in ("up", "down"):
            ids = list(
                Blueprint.objects.for_org(request.org)  # type: ignore[attr-defined]
                .filter(department_id=blueprint.department_id)
                .order_by("position", "pk")
                .values_list("pk", flat=True)
            )
            at = ids.index(blueprint.pk)
            to = at - 1 if action == "up" else at + 1
            if 0 <= to < len(ids):
                ids[at], ids[to] = ids[to], ids[at]
                bp.blueprints_reorder(actor=actor, department=blueprint.department, ids=ids)
                messages.success(
                    request,
                    _("“%(name)s” is now number %(n)d in the list.") % {"name": name, "n": to + 1},
                )
            # Keyboard users keep their place: the list focuses the moved row's button.
            url = reverse(
                "blueprints:department",
                kwargs={"portal": request.org.portal, "dept_id": blueprint.department_id},  # type: ignore[attr-defined]
            )
            return redirect(f"{url}?moved={blueprint.pk}&dir={action}")
        elif action in ("activate", "deactivate"):
            status = BlueprintStatus.ACTIVE if action == "activate" else BlueprintStatus.INACTIVE
            bp.blueprint_set_status(actor=actor, blueprint=blueprint, status=status)
            text = (
                _("“%(name)s” is active: it applies to tickets now.")
                if action == "activate"
                else _("“%(name)s” is inactive: no new tickets enter it.")
            )
            messages.success(request, text % {"name": name})
        elif action == "delete":
            bp.blueprint_delete(actor=actor, blueprint=blueprint)
            messages.success(request, _("“%(name)s” deleted.") % {"name": name})
        else:
            messages.error(request, _("Choose an action."))
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    return redirect(
        "blueprints:department",
        portal=request.org.portal,  # type: ignore[attr-defined]
        dept_id=blueprint.department_id,
    )


@require_POST
@desk_admin_required
def blueprint_order(request: HttpRequest, dept_id: int) -> JsonResponse:
    """The list's order after a drag (BP-21): `ids`, the department's blueprint ids in their
    new order, comma-separated. Saved through `blueprints_reorder` (which renews the
    definitions token); a list that is not exactly the department's blueprints (unknown or
    another organization's ids, one missing or twice) is refused with a message and nothing
    changes. The ↑/↓ buttons are the keyboard way to the same service."""
    org = request.org  # type: ignore[attr-defined]
    department = get_object_or_404(Department.objects.for_org(org), pk=dept_id)
    raw = [part.strip() for part in request.POST.get("ids", "").split(",") if part.strip()]
    if not raw or not all(part.isdigit() for part in raw):
        return JsonResponse({"error": _("The new order is not a list of blueprints.")}, status=400)
    try:
        bp.blueprints_reorder(
            actor=request.membership,  # type: ignore[attr-defined]
            department=department,
            ids=[int(part) for part in raw],
        )
    except ValidationError as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=400)
    return JsonResponse({"message": _("The new order is saved.")})


# --- A blueprint's information -----------------------------------------------------------------
def _save_status(request: HttpRequest, blueprint: Blueprint | None) -> str | None:
    """Which button saved: "draft" (BP-17), "active" (live at once, BP-24) or keep as it is."""
    chosen = request.POST.get("save", "")
    if chosen in (BlueprintStatus.DRAFT, BlueprintStatus.ACTIVE):
        return chosen
    return None if blueprint is not None else BlueprintStatus.DRAFT


@desk_admin_required
def blueprint_edit(
    request: HttpRequest, dept_id: int | None = None, blueprint_id: int | None = None
) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    blueprint = _blueprint(request, blueprint_id) if blueprint_id is not None else None
    if blueprint is None:
        department = get_object_or_404(Department.objects.for_org(org), pk=dept_id)
    else:
        department = blueprint.department
    form = BlueprintForm(
        request.POST or None,
        org=org,
        blueprint=blueprint,
        initial={"department": department.pk},
    )
    if request.method == "POST" and form.is_valid():
        status = _save_status(request, blueprint)
        try:
            saved = bp.blueprint_save(
                actor=request.membership,  # type: ignore[attr-defined]
                data=form.to_input(),
                blueprint=blueprint,
                status=status,
            )
        except ValidationError as exc:
            _show_errors(form, exc, {})
        else:
            messages.success(request, _("Blueprint “%(name)s” saved.") % {"name": saved.name})
            if request.GET.get("leave") or blueprint is not None:
                return redirect(
                    "blueprints:department", portal=org.portal, dept_id=saved.department_id
                )
            return redirect("blueprints:process", portal=org.portal, blueprint_id=saved.pk)
    return render(
        request,
        "blueprints/settings/form.html",
        {
            "form": form,
            "blueprint": blueprint,
            "department": department,
            "builder": builder_schema(org),
            "plan_allows": _plan_allows(org),
        },
        status=400 if form.errors else 200,
    )


# --- States and transitions ----------------------------------------------------------------------
@desk_admin_required
def blueprint_process(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    """The blueprint's states (add some of the department's statuses, delete unused ones) and
    its transitions."""
    org = request.org  # type: ignore[attr-defined]
    blueprint = _blueprint(request, blueprint_id)
    form = StatesForm(request.POST or None, blueprint=blueprint)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                for status in form.cleaned_data["statuses"]:
                    bp.state_add(actor=request.membership, blueprint=blueprint, status=status)  # type: ignore[attr-defined]
        except ValidationError as exc:
            form.add_error("statuses", exc.messages)  # every error of state_add is the status's
        else:
            count = len(form.cleaned_data["statuses"])
            messages.success(request, _("States added: %(n)d.") % {"n": count})
            return redirect("blueprints:process", portal=org.portal, blueprint_id=blueprint.pk)
    states = list(
        State.objects.for_org(org)
        .filter(blueprint=blueprint)
        .select_related("status")
        .annotate(ticket_count=Count("instances", distinct=True))
        .order_by("status__order", "pk")
    )
    # Columns the apps above add (the SLA app: each state's SLA), without importing them.
    columns = state_columns(org.pk, org.portal, [s.pk for s in states])
    for state in states:
        state.notes = columns.notes[state.pk]  # type: ignore[attr-defined]
    transitions = list(
        Transition.objects.for_org(org)
        .filter(blueprint=blueprint)
        .select_related("to_state__status")
        .prefetch_related("sources__state__status", "owners", "fields", "actions")
        .order_by("position", "pk")
    )
    return render(
        request,
        "blueprints/settings/process.html",
        {
            "blueprint": blueprint,
            "form": form,
            "states": states,
            "transitions": transitions,
            "state_headings": columns.headings,
            "ticket_count": TicketBlueprint.objects.for_org(org)
            .filter(blueprint=blueprint)
            .count(),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@desk_admin_required
def state_delete(request: HttpRequest, blueprint_id: int, state_id: int) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    blueprint = _blueprint(request, blueprint_id)
    state = get_object_or_404(
        State.objects.for_org(org).filter(blueprint=blueprint).select_related("status"),
        pk=state_id,
    )
    try:
        bp.state_delete(actor=request.membership, state=state)  # type: ignore[attr-defined]
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("State “%(name)s” removed.") % {"name": state.status.name})
    return redirect("blueprints:process", portal=org.portal, blueprint_id=blueprint.pk)


def _after_actions_url(org: Any) -> str | None:
    """The after-actions' own Setup page, once it exists (the after-actions work owns it)."""
    for name in ("bpactions:action_list",):
        try:
            return reverse(name, kwargs={"portal": org.portal})
        except NoReverseMatch:
            continue
    return None


@desk_admin_required
def transition_edit(
    request: HttpRequest, blueprint_id: int, transition_id: int | None = None
) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    blueprint = _blueprint(request, blueprint_id)
    transition = None
    if transition_id is not None:
        transition = get_object_or_404(
            Transition.objects.for_org(org)
            .filter(blueprint=blueprint)
            .prefetch_related("sources", "owners", "fields", "actions", "after_links"),
            pk=transition_id,
        )
    post = request.POST or None
    form = TransitionForm(post, blueprint=blueprint, transition=transition)
    choices = field_choices(blueprint)
    formset = DuringFieldFormSet(
        post,
        prefix="fields",
        initial=during_field_initial(transition),
        form_kwargs={"field_choices": choices},
    )
    sections: dict[str, list[str]] = {}
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        fields = [f for f in (row.to_input() for row in formset.forms) if f is not None]
        try:
            saved = bp.transition_save(
                actor=request.membership,  # type: ignore[attr-defined]
                blueprint=blueprint,
                data=form.to_input(fields),
                transition=transition,
            )
        except ValidationError as exc:
            _show_errors(form, exc, sections)
        else:
            messages.success(request, _("Transition “%(name)s” saved.") % {"name": saved.name})
            # Opened from the drawing editor's side panel: back to the drawing.
            back = (
                "blueprints:editor" if request.GET.get("next") == "editor" else "blueprints:process"
            )
            return redirect(back, portal=org.portal, blueprint_id=blueprint.pk)
    has_errors = bool(form.errors or sections or any(formset.errors) or formset.non_form_errors())
    return render(
        request,
        "blueprints/settings/transition_form.html",
        {
            "blueprint": blueprint,
            "transition": transition,
            "form": form,
            "formset": formset,
            "sections": sections,
            "has_errors": has_errors,
            "builder": builder_schema(org),
            "after_actions_url": _after_actions_url(org),
            "has_states": State.objects.for_org(org).filter(blueprint=blueprint).exists(),
        },
        status=400 if has_errors else 200,
    )


@require_POST
@desk_admin_required
def transition_delete(request: HttpRequest, blueprint_id: int, transition_id: int) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    blueprint = _blueprint(request, blueprint_id)
    transition = get_object_or_404(
        Transition.objects.for_org(org).filter(blueprint=blueprint), pk=transition_id
    )
    try:
        bp.transition_delete(actor=request.membership, transition=transition)  # type: ignore[attr-defined]
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("Transition “%(name)s” deleted.") % {"name": transition.name})
    return redirect("blueprints:process", portal=org.portal, blueprint_id=blueprint.pk)


# --- Remove from all tickets (BP-18) -------------------------------------------------------------
@require_POST
@desk_admin_required
def removal_start(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    """Queue the job; the list then shows its progress."""
    org = request.org  # type: ignore[attr-defined]
    blueprint = _blueprint(request, blueprint_id)
    with transaction.atomic():
        job, created = removal_job_start(
            actor=request.membership,  # type: ignore[attr-defined]
            blueprint=blueprint,
            ip=client_ip(request),
        )
        if created:
            org_id, job_id = org.pk, job.pk
            transaction.on_commit(lambda: blueprint_removal_task.delay(org_id, job_id))
    messages.success(
        request,
        _("Removing “%(name)s” from its tickets: the progress shows in the list.")
        % {"name": blueprint.name},
    )
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "blueprints/settings/_removal.html", {"job": job})
    return redirect("blueprints:department", portal=org.portal, dept_id=blueprint.department_id)


@desk_admin_required
def removal_status(request: HttpRequest, removal_id: int) -> HttpResponse:
    """The job's progress: a fragment that polls itself (htmx) until the job is finished, or
    a page without JavaScript."""
    job = get_object_or_404(
        RemovalJob.objects.for_org(request.org).select_related("blueprint"),  # type: ignore[attr-defined]
        pk=removal_id,
    )
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "blueprints/settings/_removal.html", {"job": job})
    return render(request, "blueprints/settings/removal.html", {"job": job})
