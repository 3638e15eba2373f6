"""Setup → Blueprints → Draw (BP-04, BP-12, BP-20): the editor page and its JSON. Thin: the
page carries the graph (no second request to draw it), the JSON endpoint reads or saves the
whole drawing through `editor.services`, "+ add state" adds a status to the department's
layout through the tickets' layout service. The transitions' Before / During / After settings
stay on their own form (`settings_views.transition_edit`), which the editor loads in a side
panel: one source of truth."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app_admin
from helpdesk.tickets.models import StatusKind, TicketStatus
from helpdesk.tickets.services.layouts import status_save

from ..models import Blueprint
from .services import drawing_parse, graph_read, graph_save

desk_admin_required = require_app_admin(App.DESK)
MAX_BODY = 512 * 1024  # a drawing of the plan's largest blueprint is a few tens of kB


def _blueprint(request: HttpRequest, blueprint_id: int) -> Blueprint:
    return get_object_or_404(
        Blueprint.objects.for_org(request.org).select_related("department", "org"),  # type: ignore[attr-defined]
        pk=blueprint_id,
    )


def _urls(request: HttpRequest, blueprint: Blueprint) -> dict[str, str]:
    """The addresses the editor's script calls; `transition` ends with 0, the id to replace."""
    kw = {"portal": request.org.portal, "blueprint_id": blueprint.pk}  # type: ignore[attr-defined]
    return {
        "graph": reverse("blueprints:editor_graph", kwargs=kw),
        "status_add": reverse("blueprints:editor_status", kwargs=kw),
        "transition": reverse("blueprints:transition_edit", kwargs={**kw, "transition_id": 0}),
        "list": reverse(
            "blueprints:department",
            kwargs={"portal": kw["portal"], "dept_id": blueprint.department_id},
        ),
        "editor": reverse("blueprints:editor", kwargs=kw),
    }


@desk_admin_required
def editor(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    """The drawing: palette, canvas, side panel; the graph embedded as JSON."""
    blueprint = _blueprint(request, blueprint_id)
    return render(
        request,
        "blueprints/editor/editor.html",
        {
            "blueprint": blueprint,
            "graph": graph_read(blueprint, request.org.portal),  # type: ignore[attr-defined]
            "urls": _urls(request, blueprint),
            "kinds": StatusKind.choices,
        },
    )


def _errors(messages: list[str], status: int = 400) -> JsonResponse:
    return JsonResponse({"ok": False, "errors": messages}, status=status)


@require_http_methods(["GET", "POST"])
@desk_admin_required
def editor_graph(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    """GET: the graph. POST (JSON): save the drawing, all or nothing; 400 with every error in
    words the admin can act on, or the saved graph."""
    blueprint = _blueprint(request, blueprint_id)
    portal = request.org.portal  # type: ignore[attr-defined]
    if request.method == "GET":
        return JsonResponse(graph_read(blueprint, portal))
    if len(request.body) > MAX_BODY:
        return _errors([_("The drawing is too large to save.")])
    try:
        raw = json.loads(request.body or b"null")
        drawing = drawing_parse(raw)
        saved = graph_save(
            actor=request.membership,  # type: ignore[attr-defined]
            blueprint=blueprint,
            drawing=drawing,
        )
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _errors([_("The drawing could not be read; reload the page and draw it again.")])
    except ValidationError as exc:
        return _errors(exc.messages)
    except PermissionDenied as exc:
        return _errors([str(exc) or _("You may not change blueprints.")], status=403)
    text = (
        _("Blueprint saved as a draft: it applies to no ticket yet.")
        if saved.status == "draft"
        else _("Blueprint saved.")
    )
    return JsonResponse({"ok": True, "message": text, "graph": graph_read(saved, portal)})


@require_POST
@desk_admin_required
def editor_status_add(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    """ "+ add state": a new status of the department's layout (name, type), then offered in
    the palette. The drawing places it; saving the drawing makes it a state."""
    blueprint = _blueprint(request, blueprint_id)
    name = (request.POST.get("name") or "").strip()
    kind = request.POST.get("kind") or StatusKind.OPEN
    if kind not in StatusKind.values:
        return _errors([_("Choose the type of the status.")])
    if not name:
        return _errors([_("Enter the name of the status.")])
    status = TicketStatus(department=blueprint.department, name=name, kind=kind)
    try:
        status = status_save(actor=request.membership, status=status)  # type: ignore[attr-defined]
    except ValidationError as exc:
        return _errors(exc.messages)
    except PermissionDenied:
        return _errors([_("You may not change the department's statuses.")], status=403)
    payload: dict[str, Any] = {
        "status": status.pk,
        "name": status.name,
        "kind": status.kind,
        "kind_label": str(StatusKind(status.kind).label),
    }
    return JsonResponse({"ok": True, "status": payload})
