"""Setup → Blueprints → a blueprint's versions (what changed between two saves) and the trial
("Try it"): thin views over `versions.services`, `versions.diff` and `versions.sandbox`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from helpdesk.tenancy.models import App, Membership
from helpdesk.tenancy.permissions import require_app_admin
from helpdesk.tickets.models import CustomField, Priority

from .. import services as bp
from ..models import Blueprint, BlueprintVersion, State
from . import sandbox
from .diff import compare

desk_admin_required = require_app_admin(App.DESK)


def _blueprint(request: HttpRequest, blueprint_id: int) -> Blueprint:
    blueprint = get_object_or_404(
        Blueprint.objects.for_org(request.org).select_related("department", "org"),  # type: ignore[attr-defined]
        pk=blueprint_id,
    )
    bp.ensure_admin(request.membership)  # type: ignore[attr-defined]  (the plan has blueprints)
    return blueprint


def _number(value: Any) -> int | None:
    return int(value) if str(value or "").isdigit() else None


@desk_admin_required
def version_list(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    """Every kept version, newest first, with who saved it and when; two picked to compare."""
    blueprint = _blueprint(request, blueprint_id)
    versions = list(
        BlueprintVersion.objects.for_org(request.org)  # type: ignore[attr-defined]
        .filter(blueprint=blueprint)
        .select_related("author")
        .defer("snapshot")
    )
    return render(
        request,
        "blueprints/settings/versions.html",
        {"blueprint": blueprint, "versions": versions},
    )


@desk_admin_required
def version_compare(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    """What changed from version `a` to version `b` (by default: the latest against the one
    before it)."""
    blueprint = _blueprint(request, blueprint_id)
    versions = BlueprintVersion.objects.for_org(request.org).filter(blueprint=blueprint)  # type: ignore[attr-defined]
    numbers = list(versions.values_list("number", flat=True))
    b = _number(request.GET.get("b")) or (numbers[0] if numbers else None)
    a = _number(request.GET.get("a"))
    if a is None and b is not None:
        a = b - 1
    found = {v.number: v for v in versions.filter(number__in=[a, b]).select_related("author")}
    error = ""
    if b not in found or (a not in found and a != 0):
        error = _("Choose two versions of this blueprint.")
    lines = []
    if not error:
        old = found[a].snapshot if a in found else {}
        lines = compare(old, found[b].snapshot)
    return render(
        request,
        "blueprints/settings/compare.html",
        {
            "blueprint": blueprint,
            "older": found.get(a),
            "newer": found.get(b),
            "lines": lines,
            "error": error,
            "numbers": numbers,
            "a": a,
            "b": b,
        },
        status=404 if error and not numbers else 200,
    )


def _members(org: Any) -> list[Membership]:
    return list(
        Membership.objects.for_org(org)
        .filter(status=Membership.Status.ACTIVE)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def _start_values(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    return {
        "template": post.get("template", ""),
        "state": post.get("state"),
        "priority": post.get("priority", ""),
        "owner": post.get("owner"),
        "act_as": post.get("act_as"),
        "custom_fields": {
            key[3:]: value for key, value in post.items() if key.startswith("cf.") and value
        },
    }


@desk_admin_required
def sandbox_page(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    """Try the blueprint on a sample ticket: start (a real ticket as the template, or fields by
    hand, and the member acting), then take transitions. Nothing is written: the trial travels
    signed in the page."""
    blueprint = _blueprint(request, blueprint_id)
    actor = request.membership  # type: ignore[attr-defined]
    errors: dict[str, list[str]] = {}
    run = None
    status = 200
    step = request.POST.get("step", "")
    try:
        if request.method == "POST" and step == "start":
            run = sandbox.start(actor=actor, blueprint=blueprint, **_start_values(request))
        elif request.method == "POST" and step == "take":
            run = sandbox.load(blueprint, request.POST.get("run", ""))
            data = {k: v for k, v in request.POST.items() if k.startswith("cf.")}
            for name in ("priority", "due_at"):
                if request.POST.get(name):
                    data[name] = request.POST[name]
            run = sandbox.take(
                actor=actor,
                blueprint=blueprint,
                run=run,
                transition=request.POST.get("transition"),
                data=data,
            )
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        status = 400
    current = None
    if run is not None:
        try:
            current = sandbox.view(actor=actor, blueprint=blueprint, run=run)
        except ValidationError as exc:
            errors.setdefault("__all__", []).extend(exc.messages)
            status = 400
    fields = list(
        CustomField.objects.for_org(request.org)  # type: ignore[attr-defined]
        .filter(department_id=blueprint.department_id, is_active=True)
        .order_by("order", "pk")
    )
    states = list(
        State.objects.for_org(request.org)  # type: ignore[attr-defined]
        .filter(blueprint=blueprint)
        .select_related("status")
        .order_by("status__order", "pk")
    )
    labels = {f"cf.{f.key}": f.label for f in fields}
    labels.update(priority=_("Priority"), due_at=_("Due date"))
    rows = [
        {
            "option": o,
            "fields": [
                {"name": f.field, "label": labels.get(f.field, f.field), "mandatory": f.mandatory}
                for f in o.transition.fields.all()
            ],
        }
        for o in (current.options if current else [])
    ]
    members = _members(request.org)  # type: ignore[attr-defined]
    names = {m.user_id: m.user.display_name for m in members}
    return render(
        request,
        "blueprints/settings/sandbox.html",
        {
            "blueprint": blueprint,
            "current": current,
            "token": sandbox.dump(current.run) if current else "",
            "errors": errors,
            "general_errors": errors.get("__all__", []) + errors.get("transition", []),
            "form": request.POST if step == "start" and current is None else {},
            "custom_fields": fields,
            "rows": rows,
            "states": states,
            "members": members,
            "owner_name": names.get(current.run.owner) if current else "",
            "priorities": Priority.choices,
        },
        status=status,
    )
