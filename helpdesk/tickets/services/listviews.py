"""The list's saved views and each member's columns (TKT-06)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Department, Membership
from helpdesk.tenancy.roles import DeskRole, desk_role

from ..models import ListPreference, SavedView
from .access import can, department_ids

# What a saved view keeps of the list's query string: its whole state but the page and the
# saved view itself.
NOT_SAVED = {"page", "saved", "csrfmiddlewaretoken"}


def _known_columns(columns: Sequence[str]) -> list[str]:
    from ..selectors import clean_columns  # selectors import services: read late

    return clean_columns(list(columns))


@transaction.atomic
def list_columns_set(*, actor: Membership, columns: Sequence[str]) -> list[str]:
    """Store the member's list columns in the given order; unknown keys are dropped and the
    subject is always kept. Returns what was stored."""
    if not can(actor, "view"):
        raise PermissionDenied(_("You are not allowed to do that."))
    cleaned = _known_columns(columns)
    ListPreference.objects.update_or_create(
        org=actor.org, user_id=actor.user_id, defaults={"columns": cleaned}
    )
    return cleaned


@transaction.atomic
def saved_view_create(
    *,
    actor: Membership,
    name: str,
    params: Mapping[str, str],
    columns: Sequence[str],
    department: Department | None = None,
) -> SavedView:
    """A view of the list's current state. Personal, or shared with a department the actor
    works in (Desk admins may share with any department)."""
    if not can(actor, "view"):
        raise PermissionDenied(_("You are not allowed to do that."))
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Name the view.")})
    if department is not None:
        ensure_same_org(actor.org, department)
        allowed = department_ids(actor)
        if allowed is not None and department.pk not in allowed:
            raise ValidationError(
                {"department": _("You can share a view only with your own departments.")}
            )
    view = SavedView(
        org=actor.org,
        owner_id=actor.user_id,
        department=department,
        name=name[:80],
        params={
            str(k): str(v)[:200]
            for k, v in params.items()
            if k not in NOT_SAVED and v not in (None, "")
        },
        columns=_known_columns(columns),
    )
    view.full_clean(exclude=["org", "owner", "department"])
    view.save()
    return view


def saved_view_may_delete(actor: Membership, view: SavedView) -> bool:
    """Its owner deletes a view; a Desk admin may also delete a shared one."""
    return view.owner_id == actor.user_id or (
        view.department_id is not None and desk_role(actor) == DeskRole.ADMIN
    )


@transaction.atomic
def saved_view_delete(*, actor: Membership, view: SavedView) -> None:
    ensure_same_org(actor.org, view)
    if not saved_view_may_delete(actor, view):
        raise Http404  # the same answer as for a view one cannot see
    view.delete()
