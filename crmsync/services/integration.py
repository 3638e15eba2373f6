"""The CRM's link to a desk and the CRM's settings (CRM-02, CRM-03, CRM-07, CRM-15, CRM-16).

- **Keys** (Desk side): a Desk admin issues integration keys in Desk Setup and revokes them.
  Only a SHA-256 of a key is stored; the key is shown once. A revoked key stops working at
  once: the integration checks it at every use (`connector.DeskConnector.key_problem`).
- **Connecting** (CRM side, CRM admins): to this organization's desk, or to another
  organization's with its portal name, the email of one of its Desk admins and a key it
  issued. One desk per CRM.
- **States**: disabled -> enabled <-> paused (CRM-07: once enabled, only pause and resume);
  enabled -> disabled is refused. Deactivating (any state) stops everything, on both sides;
  reactivating brings it back paused if it ever synced (the admin resumes on purpose), else
  disabled. Removing deletes the integration.
- **Authority**: the admin who set it up authorises it. If they left (no longer an active CRM
  admin), or the key was revoked, the integration stops working until another CRM admin
  re-authorises it (with a new key for another organization's desk).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import App, DeskRole, Membership, Organization
from helpdesk.tenancy.permissions import ensure_app_admin

from ..connector import DeskConnector, key_check, key_hash, key_new
from ..models import CrmSettings, Currency, Integration, IntegrationKey, TicketModule
from ..selectors import crm_settings, integration_of
from .access import ensure_can, is_crm_admin

State = Integration.State


# --- Keys (Desk Setup) -----------------------------------------------------------------------
@transaction.atomic
def key_issue(*, actor: Membership, label: str) -> tuple[IntegrationKey, str]:
    """Issue a key for a CRM of another organization; returns the row and the key itself,
    which is shown once and never stored."""
    ensure_app_admin(actor, App.DESK)
    label = (label or "").strip()
    if not label:
        raise ValidationError({"label": _("Name the key, e.g. after the CRM that will use it.")})
    key = key_new()
    row = IntegrationKey(
        org=actor.org, label=label, prefix=key[:10], key_hash=key_hash(key), created_by=actor.user
    )
    row.full_clean()
    row.save()
    return row, key


@transaction.atomic
def key_revoke(*, actor: Membership, key: IntegrationKey) -> IntegrationKey:
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, key)
    key = IntegrationKey.objects.for_org(actor.org).select_for_update().get(pk=key.pk)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.revoked_by = actor.user
        key.save(update_fields=["revoked_at", "revoked_by"])
    return key


# --- Connecting ------------------------------------------------------------------------------
def _locked(actor: Membership, integration: Integration) -> Integration:
    ensure_can(actor, "configure")
    ensure_same_org(actor.org, integration)
    return (
        Integration.objects.for_org(actor.org)
        .select_for_update()
        .select_related("desk_org")
        .get(pk=integration.pk)
    )


def _ensure_none_yet(actor: Membership) -> None:
    current = (
        Integration.objects.for_org(actor.org).select_for_update().select_related("desk_org")
    ).first()
    if current is not None:
        raise ValidationError(
            _(
                "This CRM is already linked to the desk of /%(portal)s/. A CRM links to one "
                "desk: remove that integration first."
            )
            % {"portal": current.desk_org.portal}
        )


@transaction.atomic
def integration_connect_own(*, actor: Membership) -> Integration:
    """Link the CRM to this organization's own desk."""
    ensure_can(actor, "configure")
    _ensure_none_yet(actor)
    integration = Integration(
        org=actor.org,
        desk_org=actor.org,
        authorised_by=actor.user,
        authorised_at=timezone.now(),
    )
    integration.full_clean()
    integration.save()
    return integration


def _check_other_desk(actor: Membership, portal: str, admin_email: str, key: str):
    portal = (portal or "").strip().lower()
    if not portal:
        raise ValidationError({"portal": _("Enter the portal name of the desk.")})
    if portal == actor.org.portal:
        raise ValidationError(
            {"portal": _("That is this organization: connect this organization's desk instead.")}
        )
    if not (admin_email or "").strip():
        raise ValidationError({"admin_email": _("Enter the email of an admin of that desk.")})
    if not (key or "").strip():
        raise ValidationError({"key": _("Enter the integration key.")})
    checked = key_check(portal=portal, admin_email=admin_email, key=key)
    if checked.outcome == "invalid":
        raise ValidationError(
            {
                "key": _(
                    "This key was not issued by the desk of /%(portal)s/. Check the portal name "
                    "and the key."
                )
                % {"portal": portal}
            }
        )
    if checked.outcome == "revoked":
        raise ValidationError(
            {"key": _("This key has been revoked. Ask an admin of that desk for a new one.")}
        )
    if checked.outcome == "not_admin":
        raise ValidationError(
            {
                "admin_email": _("%(email)s is not an admin of the desk of /%(portal)s/.")
                % {"email": admin_email.strip(), "portal": portal}
            }
        )
    return checked


@transaction.atomic
def integration_connect_other(
    *, actor: Membership, portal: str, admin_email: str, key: str
) -> Integration:
    """Link the CRM to another organization's desk: `key` must have been issued by that
    portal and not revoked, and `admin_email` must be an active Desk admin of it. A refused
    attempt writes nothing."""
    ensure_can(actor, "configure")
    _ensure_none_yet(actor)
    checked = _check_other_desk(actor, portal, admin_email, key)
    integration = Integration(
        org=actor.org,
        desk_org=Organization.objects.get(pk=checked.org_id),
        key_id=checked.key_id,
        desk_admin_email=admin_email.strip().lower(),
        authorised_by=actor.user,
        authorised_at=timezone.now(),
    )
    integration.full_clean()
    integration.save()
    return integration


def authoriser_left(integration: Integration, known: Membership | None = None) -> bool:
    """The admin who authorised the integration is no longer an active CRM admin here.
    `known`: a membership read already in this request (the reader's), used if it is the
    authoriser's."""
    if integration.authorised_by_id is None:
        return True
    if (
        known is not None
        and known.user_id == integration.authorised_by_id
        and known.org_id == integration.org_id
    ):
        member: Membership | None = known
    else:
        member = (
            Membership.objects.for_org(integration.org)
            .filter(user_id=integration.authorised_by_id)
            .first()
        )
    if member is None:
        return True
    member.org = integration.org
    return not (member.is_active and is_crm_admin(member))


def integration_problem(integration: Integration, known: Membership | None = None) -> str | None:
    """Why the integration cannot work now (and so syncs nothing), in words; None when it
    can. Checked whenever it is used. `known`: see `authoriser_left`."""
    if integration.state == State.DEACTIVATED:
        return _("The integration is deactivated: nothing is synced and the Desk tab is hidden.")
    if authoriser_left(integration, known):
        return _(
            "The admin who set up the integration is no longer a CRM admin here. Another CRM "
            "admin must re-authorise it."
        )
    return DeskConnector(integration).key_problem()


@transaction.atomic
def integration_reauthorise(
    *, actor: Membership, integration: Integration, admin_email: str = "", key: str = ""
) -> Integration:
    """Take over the integration's authority (CRM-16). For another organization's desk a new
    key may be given (it must be of the same desk); without one, the current key must still
    work."""
    integration = _locked(actor, integration)
    if not integration.is_same_org:
        if key.strip():
            checked = _check_other_desk(actor, integration.desk_org.portal, admin_email, key)
            integration.key_id = checked.key_id
            integration.desk_admin_email = admin_email.strip().lower()
        elif DeskConnector(integration).key_problem():
            raise ValidationError(
                {"key": _("The current key has been revoked: enter a new key of that desk.")}
            )
    integration.authorised_by = actor.user
    integration.authorised_at = timezone.now()
    integration.save()
    return integration


# --- States (CRM-07, CRM-16) -----------------------------------------------------------------
TRANSITIONS: dict[str, dict[str, str]] = {
    # action: {from state: to state}
    "enable": {State.DISABLED: State.ENABLED},
    "pause": {State.ENABLED: State.PAUSED},
    "resume": {State.PAUSED: State.ENABLED},
    "deactivate": {
        State.DISABLED: State.DEACTIVATED,
        State.ENABLED: State.DEACTIVATED,
        State.PAUSED: State.DEACTIVATED,
    },
    "reactivate": {State.DEACTIVATED: ""},  # disabled, or paused if it ever synced
}


@transaction.atomic
def integration_transition(
    *, actor: Membership, integration: Integration, action: str
) -> Integration:
    """Move the integration to another state (TRANSITIONS); a refused move says why."""
    integration = _locked(actor, integration)
    if action == "disable":
        # CRM-07: there is no way back to "not started".
        raise ValidationError(
            _(
                "Once enabled, the sync can only be paused and resumed. To stop it altogether, "
                "deactivate or remove the integration."
            )
        )
    moves = TRANSITIONS.get(action)
    if moves is None:
        raise ValidationError(_("Unknown action."))
    if integration.state not in moves:
        raise ValidationError(
            _("The integration cannot do that while it is “%(state)s”.")
            % {"state": integration.get_state_display()}
        )
    if action in ("enable", "resume", "reactivate"):
        problem = _problem_ignoring_state(integration)
        if problem:
            raise ValidationError(problem)
    target = moves[integration.state]
    if action == "reactivate":
        target = State.PAUSED if integration.enabled_at else State.DISABLED
    integration.state = target
    first_enable = target == State.ENABLED and integration.enabled_at is None
    if first_enable:
        integration.enabled_at = timezone.now()
    integration.save()
    for listener in _state_listeners:
        listener(actor, integration, action, first_enable)
    return integration


# The sync (services.sync_jobs, registered in AppConfig.ready) starts its initial sync on the
# first enable and delivers what collected on resume; called in the transition's transaction.
StateListener = Callable[[Membership, Integration, str, bool], None]
_state_listeners: list[StateListener] = []


def state_listen(listener: StateListener) -> None:
    if listener not in _state_listeners:
        _state_listeners.append(listener)


def _problem_ignoring_state(integration: Integration) -> str | None:
    if authoriser_left(integration):
        return _(
            "The admin who set up the integration is no longer a CRM admin here. Another CRM "
            "admin must re-authorise it."
        )
    return DeskConnector(integration).key_problem()


@transaction.atomic
def integration_options(
    *,
    actor: Membership,
    integration: Integration,
    direction: str,
    match_secondary_email: bool,
    product_department_ids: list[int],
) -> Integration:
    """The sync's settings (CRM-04..06). Changed while the sync is not running: pause first."""
    integration = _locked(actor, integration)
    if integration.state == State.ENABLED:
        raise ValidationError(_("Pause the sync before changing its settings."))
    if direction not in Integration.Direction.values:
        raise ValidationError({"direction": _("Choose one-way or two-way sync.")})
    known = {pk for pk, _name in DeskConnector(integration).departments()}
    unknown = set(product_department_ids) - known
    if unknown:
        raise ValidationError({"departments": _("Choose departments of the linked desk.")})
    integration.direction = direction
    integration.match_secondary_email = bool(match_secondary_email)
    integration.product_department_ids = sorted(set(product_department_ids))
    integration.full_clean()
    integration.save()
    return integration


@transaction.atomic
def integration_remove(*, actor: Membership, integration: Integration) -> None:
    """Remove the integration: nothing more is synced on either side; the CRM's and the
    desk's records stay as they are."""
    integration = _locked(actor, integration)
    integration.delete()


# --- People (CRM-03) -------------------------------------------------------------------------
@transaction.atomic
def desk_invite(*, actor: Membership, integration: Integration, member: Membership, desk_role: str):
    """Give a CRM user a desk account with `desk_role` (agent, restricted agent, admin) in the
    linked desk, through the desk's invitation flow."""
    integration = _locked(actor, integration)
    ensure_same_org(actor.org, member)
    problem = integration_problem(integration)
    if problem:
        raise ValidationError(problem)
    if desk_role not in DeskRole.values:
        raise ValidationError({"desk_role": _("Choose a desk role.")})
    member.org = actor.org
    if not member.has_app(App.CRM):
        raise ValidationError({"member": _("Only users of this CRM can be invited.")})
    return DeskConnector(integration).invite(
        user=member.user, desk_role=desk_role, invited_by=actor.user
    )


def desk_tab_url(actor: Membership) -> str | None:
    """Where the CRM's Desk tab leads this member (CRM-15), or None when it is not shown: no
    working integration, the tab turned off, or no desk account there."""
    integration = integration_of(actor.org)
    if integration is None or not crm_settings(actor.org).desk_tab:
        return None
    if integration_problem(integration):
        return None
    if not DeskConnector(integration).desk_users([actor.user_id]):
        return None
    return reverse("desk:dashboard", kwargs={"portal": integration.desk_org.portal})


# --- Settings --------------------------------------------------------------------------------
@transaction.atomic
def crm_settings_save(
    *,
    actor: Membership,
    currency: str,
    desk_tab: bool,
    ticket_modules: Iterable[str] | None = None,
) -> CrmSettings:
    """Save the CRM's settings (CRM admins). `ticket_modules`: the modules whose records show
    their desk tickets (CRM-08; TicketModule values, any order); None keeps them."""
    ensure_can(actor, "configure")
    if currency not in Currency.values:
        raise ValidationError({"currency": _("Choose a currency.")})
    modules = None if ticket_modules is None else set(ticket_modules)
    if modules is not None and not modules <= set(TicketModule.values):
        raise ValidationError({"ticket_modules": _("Choose modules from the list.")})
    settings, _created = (
        CrmSettings.objects.for_org(actor.org).select_for_update().get_or_create(org=actor.org)
    )
    settings.currency = currency
    settings.desk_tab = bool(desk_tab)
    if modules is not None:
        settings.ticket_modules = [m for m in TicketModule.values if m in modules]
    settings.full_clean()
    settings.save()
    return settings
