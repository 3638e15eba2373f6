"""Blueprints on the ticket page (BP-25): the blueprint bar (loaded by htmx, so the ticket
page's own queries stay fixed), the transition dialog, the flowchart, reassignment (BP-14)
and removal (BP-18). Each answers htmx with a fragment and a plain request with a page.

Who reaches these: members who see the ticket, and a transition's owners who do not (BP-22:
they execute it but do not edit the ticket); anyone else gets 404, as for the ticket."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from helpdesk.http import client_ip
from helpdesk.tenancy.models import App, Membership
from helpdesk.tenancy.permissions import require_app
from helpdesk.tickets.models import CustomField, Priority, Thread, Ticket
from helpdesk.tickets.services.access import ticket_access, ticket_for_member
from helpdesk.tickets.services.threads import thread_add

from . import engine
from .flowchart import PATH_LIMIT, flow_graph, path_taken
from .models import DuringAction, State, Transition


def _ticket(request: HttpRequest, number: int) -> Ticket:
    """The ticket if the member sees it, or owns one of its pending transitions (BP-22)."""
    try:
        return ticket_for_member(request.membership, number, related=("status", "department"))
    except Http404:
        ticket = (
            Ticket.objects.for_org(request.org)
            .select_related("status", "department")
            .filter(number=number)
            .first()
        )
        if ticket is None:
            raise
        _i, options = engine.available_transitions(ticket, request.membership)
        if not any(o.is_owner for o in options):
            raise
        return ticket


def _transition(request: HttpRequest, transition_id: int) -> Transition:
    transition = (
        Transition.objects.for_org(request.org)
        .select_related("to_state__status", "blueprint")
        .filter(pk=transition_id)
        .first()
    )
    if transition is None:
        raise Http404
    return transition


def _ticket_url(request: HttpRequest, ticket: Ticket) -> str:
    return reverse(
        "desk:ticket_detail", kwargs={"portal": request.org.portal, "number": ticket.number}
    )


def _render(
    request: HttpRequest, fragment: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context = {**context, "fragment": fragment}
    if request.htmx:
        return render(request, fragment, context, status=200 if status < 500 else status)
    return render(request, "blueprints/ticket/page.html", context, status=status)


# --- The bar ----------------------------------------------------------------------------------
def _bar_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    instance, options = engine.available_transitions(ticket, request.membership)
    return {
        "ticket": ticket,
        "instance": instance,
        "options": options,
        "executable": [o for o in options if o.can_execute],
        "blocked": [o for o in options if not o.can_execute],
        "is_admin": request.membership.is_app_admin(App.DESK),
    }


@require_app(App.DESK)
def blueprint_bar(request: HttpRequest, number: int) -> HttpResponse:
    """The transitions the member may execute as buttons, and why the others are not theirs."""
    ticket = _ticket(request, number)
    return _render(request, "blueprints/ticket/_bar.html", _bar_context(request, ticket))


# --- The dialog ----------------------------------------------------------------------------
class DuringForm(forms.Form):
    """The transition's fields (BP-08), built from its definition."""

    def __init__(self, *args: Any, option: engine.Option, ticket: Ticket, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.option = option
        customs = {
            c.key: c
            for c in CustomField.objects.for_org(ticket.org_id).filter(
                department=ticket.department_id
            )
        }
        values = ticket.custom_fields or {}
        for f in option.transition.fields.all():
            required = f.mandatory
            if f.field == "priority":
                self.fields[f.field] = forms.ChoiceField(
                    label=_("Priority"),
                    choices=Priority.choices,
                    required=required,
                    initial=ticket.priority,
                )
            elif f.field == "due_at":
                self.fields[f.field] = forms.DateTimeField(
                    label=_("Due date"),
                    required=required,
                    initial=ticket.due_at,
                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                )
            else:
                custom = customs.get(f.field[3:])
                if custom is None:
                    continue
                label = custom.label
                initial = values.get(custom.key)
                if custom.type == "picklist":
                    field: forms.Field = forms.ChoiceField(
                        label=label,
                        choices=[("", "---------"), *[(c, c) for c in custom.choices or []]],
                        required=required,
                        initial=initial,
                    )
                elif custom.type == "checkbox":
                    field = forms.BooleanField(label=label, required=False, initial=initial)
                elif custom.type == "textarea":
                    field = forms.CharField(
                        label=label, required=required, initial=initial, widget=forms.Textarea
                    )
                else:
                    field = forms.CharField(label=label, required=required, initial=initial)
                self.fields[f.field] = field
            if f.warning:
                self.fields[f.field].help_text = f.warning

    def values(self) -> dict[str, Any]:
        out = {}
        for name, value in self.cleaned_data.items():
            if hasattr(value, "isoformat"):
                value = value.isoformat()
            out[name] = value
        return out


def _dialog_context(
    request: HttpRequest,
    ticket: Ticket,
    transition: Transition,
    form: DuringForm | None = None,
    errors: list[str] | None = None,
) -> dict[str, Any]:
    instance, options = engine.available_transitions(ticket, request.membership)
    option = next((o for o in options if o.transition.pk == transition.pk), None)
    if instance is None or option is None:
        raise Http404
    if form is None:
        form = DuringForm(option=option, ticket=ticket)
    return {
        "ticket": ticket,
        "instance": instance,
        "option": option,
        "transition": transition,
        "form": form,
        "errors": errors or [],
        "can_write": ticket_access(request.membership, ticket) is not None,
        "writable_actions": [
            (kind, label, done)
            for kind, label, done in option.actions
            if kind in (DuringAction.REPLY, DuringAction.COMMENT)
        ],
    }


@require_app(App.DESK)
def transition_dialog(request: HttpRequest, number: int, transition_id: int) -> HttpResponse:
    """GET: the dialog (message, fields, actions in order with their state). POST: open the
    member's window (BP-09) and show the dialog."""
    ticket = _ticket(request, number)
    transition = _transition(request, transition_id)
    if request.method == "POST":
        try:
            engine.start_transition(
                ticket=ticket, transition=transition, membership=request.membership
            )
        except (PermissionDenied, ValidationError) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
            return _bar_or_ticket(request, ticket)
    return _render(
        request, "blueprints/ticket/_dialog.html", _dialog_context(request, ticket, transition)
    )


def _bar_or_ticket(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    if request.htmx:
        return render(request, "blueprints/ticket/_bar.html", _bar_context(request, ticket))
    return redirect(_ticket_url(request, ticket))


class WindowEntryForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(DuringAction.REPLY, gettext_lazy("Reply")), (DuringAction.COMMENT, "")]
    )
    body = forms.CharField(label=gettext_lazy("Message"), widget=forms.Textarea, max_length=20000)


@require_POST
@require_app(App.DESK)
def transition_entry(request: HttpRequest, number: int, transition_id: int) -> HttpResponse:
    """A reply or comment written in the dialog: the ticket service adds it (with the
    member's rights, in the open window, so it counts towards the transition)."""
    ticket = ticket_for_member(request.membership, number, related=("status", "department"))
    transition = _transition(request, transition_id)
    form = WindowEntryForm(request.POST)
    errors: list[str] = []
    if form.is_valid():
        kind = Thread.Kind.REPLY if form.cleaned_data["kind"] == "reply" else Thread.Kind.COMMENT
        try:
            thread_add(
                actor=request.membership,
                ticket=ticket,
                kind=kind,
                body=form.cleaned_data["body"],
                ip=client_ip(request),
            )
        except (PermissionDenied, ValidationError) as exc:
            errors = list(getattr(exc, "messages", [str(exc)]))
    else:
        errors = [m for ms in form.errors.values() for m in ms]
    context = _dialog_context(request, ticket, transition, errors=errors)
    return _render(request, "blueprints/ticket/_dialog.html", context, 400 if errors else 200)


@require_POST
@require_app(App.DESK)
def transition_complete(request: HttpRequest, number: int, transition_id: int) -> HttpResponse:
    """Complete the transition with the dialog's fields. The loser of a race, or a missing
    field or action, sees the dialog again with what to do."""
    ticket = _ticket(request, number)
    transition = _transition(request, transition_id)
    context = _dialog_context(request, ticket, transition)
    form = DuringForm(request.POST, option=context["option"], ticket=ticket)
    errors: list[str] = []
    if form.is_valid():
        expected = request.POST.get("state")
        try:
            done = engine.complete_transition(
                ticket=ticket,
                transition=transition,
                membership=request.membership,
                data=form.values(),
                expected_state=int(expected) if expected and expected.isdigit() else None,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, messages_ in exc.message_dict.items():
                    if name in form.fields:
                        for message in messages_:
                            form.add_error(name, message)
                    else:
                        errors.extend(messages_)
            else:
                errors.extend(exc.messages)
        except PermissionDenied as exc:
            errors.append(str(exc))
        else:
            messages.success(
                request,
                _("“%(name)s” done: the ticket is now %(state)s.")
                % {"name": transition.name, "state": transition.to_state.status.name},
            )
            if done.next_window is not None:  # continuous (BP-03): the next one is open
                url = reverse(
                    "bp_ticket:dialog",
                    kwargs={
                        "portal": request.org.portal,
                        "number": ticket.number,
                        "transition_id": done.next_window.transition_id,
                    },
                )
                return redirect(url)
            return redirect(_ticket_url(request, ticket))
    context = _dialog_context(request, ticket, transition, form=form, errors=errors)
    return _render(request, "blueprints/ticket/_dialog.html", context, status=400)


# --- The flowchart -----------------------------------------------------------------------------
BOX_W, BOX_H, GAP_X, GAP_Y, COLUMNS, PAD = 170, 46, 110, 60, 3, 16


def _layout(states: list[State]) -> dict[int, tuple[int, int]]:
    """Boxes at their editor positions when the editor placed them, else in a grid in the
    order they were added."""
    placed = any(s.x or s.y for s in states)
    boxes = {}
    for n, s in enumerate(states):
        if placed:
            boxes[s.pk] = (max(s.x, 0) + PAD, max(s.y, 0) + PAD)
        else:
            col, row = n % COLUMNS, n // COLUMNS
            boxes[s.pk] = (PAD + col * (BOX_W + GAP_X), PAD + row * (BOX_H + GAP_Y))
    return boxes


def _edge(a: tuple[int, int], b: tuple[int, int]) -> tuple[float, float, float, float] | None:
    """A line from box a's border to box b's border, between their centres."""
    ax, ay = a[0] + BOX_W / 2, a[1] + BOX_H / 2
    bx, by = b[0] + BOX_W / 2, b[1] + BOX_H / 2
    dx, dy = bx - ax, by - ay
    if dx == 0 and dy == 0:
        return None
    t = min((BOX_W / 2) / abs(dx) if dx else math.inf, (BOX_H / 2) / abs(dy) if dy else math.inf)
    return (ax + dx * t, ay + dy * t, bx - dx * t, by - dy * t)


def flowchart(instance: Any, options: list[engine.Option]) -> dict[str, Any]:
    """What the SVG draws: the states (the current one marked), the transitions (pending ones
    marked; common ones green, BP-12, listed apart since they leave every state)."""
    # From the engine's compiled definitions (the instance carries them): no query.
    compiled = instance.compiled
    states = compiled.states
    boxes = _layout(states)
    transitions = compiled.transitions
    sources = {t.pk: list(t.source_ids) for t in transitions}
    pending = {o.transition.pk for o in options}
    edges = []
    for t in transitions:
        if t.is_common:
            continue
        for s in sources.get(t.pk, []):
            if s in boxes and t.to_state_id in boxes:
                line = _edge(boxes[s], boxes[t.to_state_id])
                if line is None:
                    continue
                x1, y1, x2, y2 = line
                edges.append(
                    {
                        "x1": round(x1, 1),
                        "y1": round(y1, 1),
                        "x2": round(x2, 1),
                        "y2": round(y2, 1),
                        "mx": round((x1 + x2) / 2, 1),
                        "my": round((y1 + y2) / 2 - 4, 1),
                        "name": t.name,
                        "pending": t.pk in pending and s == instance.state_id,
                    }
                )
    nodes = [
        {
            "x": boxes[s.pk][0],
            "y": boxes[s.pk][1],
            "tx": boxes[s.pk][0] + BOX_W / 2,
            "ty": boxes[s.pk][1] + BOX_H / 2 + 5,
            "name": s.status.name,
            "current": s.pk == instance.state_id,
        }
        for s in states
    ]
    width = max((x for x, _y in boxes.values()), default=0) + BOX_W + PAD
    height = max((y for _x, y in boxes.values()), default=0) + BOX_H + PAD
    return {
        "nodes": nodes,
        "edges": edges,
        "common": [t for t in transitions if t.is_common],
        "width": width,
        "height": height,
        "box_w": BOX_W,
        "box_h": BOX_H,
    }


def _flow_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    instance, options = engine.available_transitions(ticket, request.membership)
    if instance is None:
        raise Http404
    is_admin = request.membership.is_app_admin(App.DESK)
    reassign = instance.blueprint.dynamic_reassignment
    agents = []
    if reassign and (is_admin or any(o.is_owner for o in options)):
        agents = list(
            Membership.objects.for_org(request.org)
            .filter(status=Membership.Status.ACTIVE)
            .exclude(desk_role="")
            .select_related("user")
            .order_by("user__full_name", "user__email")
        )
    reassignable = [o for o in options if agents and (is_admin or o.is_owner)]
    steps, path_cut = path_taken(instance)
    graph = flow_graph(instance, options, steps, {o.transition.pk for o in reassignable})
    compiled = instance.compiled  # type: ignore[attr-defined]
    return {
        "ticket": ticket,
        "instance": instance,
        "options": options,
        "chart": flowchart(instance, options),
        "graph": graph,
        "steps": steps,
        "path_cut": path_cut,
        "path_limit": PATH_LIMIT,
        "history_url": reverse(
            "desk:ticket_history", kwargs={"portal": request.org.portal, "number": ticket.number}
        ),
        "states": compiled.states,
        "transitions": [
            {
                "transition": t,
                "froms": [compiled.state_by_id[s].status.name for s in t.source_ids]
                if not t.is_common
                else [],
                "owners": graph["owners"].get(t.pk, []),
            }
            for t in compiled.transitions
        ],
        "reassignable": reassignable,
        "agents": agents,
        "is_admin": is_admin,
    }


@require_app(App.DESK)
def blueprint_flow(request: HttpRequest, number: int) -> HttpResponse:
    """The process flowchart from the current state, the pending transitions and their owners
    (everyone who sees the ticket, BP-23), and reassignment where allowed (BP-14)."""
    ticket = _ticket(request, number)
    return _render(request, "blueprints/ticket/_flow.html", _flow_context(request, ticket))


@require_POST
@require_app(App.DESK)
def transition_reassign(request: HttpRequest, number: int, transition_id: int) -> HttpResponse:
    ticket = _ticket(request, number)
    transition = _transition(request, transition_id)
    user = request.POST.get("user", "")
    try:
        if not user.isdigit():
            raise ValidationError(_("Choose an agent."))
        engine.reassign_owner(
            ticket=ticket,
            transition=transition,
            membership=request.membership,
            user_id=int(user),
            ip=client_ip(request),
        )
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, _("The transition was reassigned."))
    return redirect(
        reverse("bp_ticket:flow", kwargs={"portal": request.org.portal, "number": ticket.number})
    )


@require_POST
@require_app(App.DESK)
def blueprint_remove(request: HttpRequest, number: int) -> HttpResponse:
    """Take the ticket out of its blueprint (Desk admins, BP-18)."""
    ticket = ticket_for_member(request.membership, number)
    try:
        engine.blueprint_remove(ticket=ticket, membership=request.membership, ip=client_ip(request))
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, _("The blueprint was removed from this ticket."))
    return redirect(_ticket_url(request, ticket))
