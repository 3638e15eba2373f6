"""Escalation mail (BP-15, TKT-09): what `escalation_mail_task` does with the ledger rows the
sweep handed off.

Exactly once: the ledger rows are locked (`SELECT ... FOR UPDATE`), only those whose
`mail_sent_at` is empty are sent, and `mail_sent_at`, the recipients and the due rows'
`fired_at` are written in that same transaction. A second task for the same rows (a re-claim
after the claim timeout, a redelivered message) waits for the lock and then finds them sent.
Every lock the transaction needs (the ledger rows, then their due rows) is taken *before*
anything is handed to the mail server, so after sending it writes only rows it holds: it
cannot wait, deadlock or be chosen as a deadlock's victim once a message is out. (Before,
the due rows were locked by the final UPDATE: a sweep re-claiming those rows held them and
then waited on the updated ledger rows in its `INSERT ... ON CONFLICT`, PostgreSQL aborted
the mail transaction, and the task's retry mailed its batch again: the duplicates of the
benchmark's runs with re-claims.) A worker killed after the mail server accepted a message
but before the commit would send it again on the retry: the one window at-least-once delivery
leaves, kept to one batch.

The mail is the level's mail template (helpdesk/tickets/mailtemplates), filled with the
ticket's values and the SLA placeholders (target, level, due time, time left or overdue by) in
each recipient's language and time zone. Recipients: the level's chosen users, its teams'
members, the members with its desk roles (agents of the ticket's department, and admins), the
ticket's owner and the owner's manager ("reports to"): only active members of the ticket's
organization, each once. One SMTP connection per call (the sweep's hand-off of up to 500
ledger rows, or `escalation_mail_task`'s retry of the rows the mail server refused), with
`send_messages` per ledger row, so a failure part-way keeps what was sent."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from helpdesk.lookups import any_of
from helpdesk.tenancy.models import DepartmentAgent, DeskRole, Membership, TeamMember
from helpdesk.tickets.mailtemplates.models import MailTemplate
from helpdesk.tickets.mailtemplates.rendering import TICKET_FIELDS
from helpdesk.tickets.mailtemplates.services import mail_template_message
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.selectors import local_minute

from . import durations
from .models import (
    Clock,
    ClockDue,
    EscalationFired,
    EscalationLevel,
    EscalationTeam,
    EscalationUser,
    Target,
)

HEADER = "X-Madoguchi-Escalation"
# What a recipient's mail needs of their membership: their address, language and time zone.
MEMBER_FIELDS = ("org_id", "user_id", "user__email", "user__language", "user__time_zone")
# What the mail reads of a ledger row and of its clock (the level's settings, the placeholders,
# the cycle a due row is confirmed for): a batch reads 500 of each, and every other column,
# timestamps above all, costs its conversion.
LEDGER_FIELDS = ("org", "ticket", "clock", "cycle", "level")
CLOCK_FIELDS = ("org", "kind", "cycle", "due_at", "policy", "state_sla")


# --- Placeholders ------------------------------------------------------------------------------
def duration_text(delta: dt.timedelta) -> str:
    """A span in words at minute precision, in the active language ("1 hour 15 minutes"), as
    the ticket page says it (sla.durations)."""
    return durations.span_text(delta)


def sla_values(*, target: str, level: int, due_at: dt.datetime, now: dt.datetime) -> dict:
    """The SLA placeholders in the active language and time zone."""
    if due_at > now:
        left = _("%(duration)s left") % {"duration": duration_text(due_at - now)}
    else:
        left = _("Overdue by %(duration)s") % {"duration": duration_text(now - due_at)}
    return {
        "sla.target": str(Target(target).label),
        "sla.level": str(level),
        "sla.due": local_minute(due_at),
        "sla.time_left": left,
    }


# --- Recipients ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LevelConf:
    template: MailTemplate
    notify_owner: bool
    notify_manager: bool
    user_ids: frozenset[int]
    team_user_ids: frozenset[int]
    roles: tuple[str, ...]


def _level_key(clock: Clock, level: int) -> tuple[str, int | None, str, int]:
    if clock.state_sla_id is not None:
        return ("state", clock.state_sla_id, Target.STATE, level)
    return ("policy", clock.policy_id, clock.kind, level)


def _levels(org_id: int, clocks: Iterable[Clock], levels: Iterable[int]) -> dict:
    """The escalation level settings the clocks' levels point at, with their people."""
    clocks = list(clocks)
    policy_ids = {c.policy_id for c in clocks if c.policy_id and not c.state_sla_id}
    state_ids = {c.state_sla_id for c in clocks if c.state_sla_id}
    rows = list(
        EscalationLevel.objects.for_org(org_id)
        .filter(Q(policy_id__in=policy_ids) | Q(state_sla_id__in=state_ids), level__in=set(levels))
        .select_related("template")
    )
    ids = [row.pk for row in rows]
    users: dict[int, set[int]] = {}
    for level_id, user_id in (
        EscalationUser.objects.for_org(org_id)
        .filter(level_id__in=ids)
        .values_list("level_id", "user_id")
    ):
        users.setdefault(level_id, set()).add(user_id)
    team_of: dict[int, set[int]] = {}
    for level_id, team_id in (
        EscalationTeam.objects.for_org(org_id)
        .filter(level_id__in=ids)
        .values_list("level_id", "team_id")
    ):
        team_of.setdefault(level_id, set()).add(team_id)
    members: dict[int, set[int]] = {}
    all_teams = set().union(*team_of.values()) if team_of else set()
    for team_id, user_id in (
        TeamMember.objects.for_org(org_id)
        .filter(team_id__in=all_teams)
        .values_list("team_id", "user_id")
    ):
        members.setdefault(team_id, set()).add(user_id)
    confs = {}
    for row in rows:
        owner = ("state", row.state_sla_id) if row.state_sla_id else ("policy", row.policy_id)
        team_users = set()
        for team_id in team_of.get(row.pk, ()):
            team_users |= members.get(team_id, set())
        confs[(*owner, row.target, row.level)] = LevelConf(
            template=row.template,
            notify_owner=row.notify_owner,
            notify_manager=row.notify_manager,
            user_ids=frozenset(users.get(row.pk, ())),
            team_user_ids=frozenset(team_users),
            roles=tuple(row.roles or ()),
        )
    return confs


def _has_reports_to() -> bool:
    try:
        Membership._meta.get_field("reports_to")
    except FieldDoesNotExist:
        return False
    return True


def _role_users(org_id: int, roles: set[str], departments: set[int]) -> dict[int, set[int]]:
    """{department id: user ids} of the active members with one of `roles` who are agents of
    that department, plus the Desk admins (who see every department)."""
    if not roles:
        return {}
    holders = dict(
        Membership.objects.for_org(org_id)
        .filter(status=Membership.Status.ACTIVE, desk_role__in=roles)
        .values_list("user_id", "desk_role")
    )
    admins = {u for u, role in holders.items() if role == DeskRole.ADMIN}
    found: dict[int, set[int]] = {d: set(admins) for d in departments}
    for department_id, user_id in (
        DepartmentAgent.objects.for_org(org_id)
        .filter(department_id__in=departments, user_id__in=holders)
        .values_list("department_id", "user_id")
    ):
        found[department_id].add(user_id)
    return {d: {u for u in users if u in holders} for d, users in found.items()}


# --- Sending -----------------------------------------------------------------------------------
def escalation_mail_send(*, org_id: int, ledger_ids: Sequence[int]) -> int:
    """Send the mail of the ledger rows not mailed yet (see the module's docstring); returns
    how many messages went out."""
    with transaction.atomic():
        fired = list(
            EscalationFired.objects.for_org(org_id)
            .filter(any_of("pk", ledger_ids), mail_sent_at__isnull=True)
            .select_for_update(of=("self",))
            .only(*LEDGER_FIELDS)
            .order_by("pk")
        )
        if not fired:
            return 0
        dues = _lock_dues(org_id, fired)
        sent, error = _send(org_id, fired, dues)
    if error is not None:
        raise error  # after the commit of the rows sent: the task's retry sends the rest
    return sent


def _lock_dues(org_id: int, fired: list[EscalationFired]) -> dict[tuple[int, int], list[int]]:
    """Lock the unfired due rows of the ledger rows (in id order, waiting for a sweep that
    holds them), before any mail goes out; {(clock id, level): due row ids}."""
    if not fired:
        return {}
    by_level: dict[int, set[int]] = {}
    for f in fired:
        by_level.setdefault(f.level, set()).add(f.clock_id)
    pairs = Q()
    for level, clock_ids in by_level.items():
        pairs |= Q(any_of("clock_id", clock_ids), level=level)
    found: dict[tuple[int, int], list[int]] = {}
    for pk, clock_id, level in (
        ClockDue.objects.for_org(org_id)
        .filter(pairs, fired_at__isnull=True)
        .order_by("pk")
        .select_for_update()
        .values_list("pk", "clock_id", "level")
    ):
        found.setdefault((clock_id, level), []).append(pk)
    return found


def _send(
    org_id: int, fired: list[EscalationFired], dues: dict[tuple[int, int], list[int]]
) -> tuple[int, Exception | None]:
    now = timezone.now()
    clocks = {
        c.pk: c
        for c in Clock.objects.for_org(org_id)
        .filter(any_of("pk", {f.clock_id for f in fired}))
        .only(*CLOCK_FIELDS)
    }
    tickets = {
        t.pk: t
        for t in Ticket.objects.for_org(org_id)
        .filter(any_of("pk", {f.ticket_id for f in fired}))
        # Only what the mail says (the placeholders, the sender, the recipients). A batch's
        # tickets share a few departments, statuses and owners (and one organization): read
        # once each, not joined into every row and built again for it.
        .only(*TICKET_FIELDS)
        .select_related("contact")
        .prefetch_related("org", "department", "status", "owner")
    }
    confs = _levels(org_id, clocks.values(), {f.level for f in fired})
    plans: list[tuple[EscalationFired, LevelConf | None, Ticket | None, Clock | None]] = []
    for f in fired:
        clock, ticket = clocks.get(f.clock_id), tickets.get(f.ticket_id)
        conf = confs.get(_level_key(clock, f.level)) if clock is not None else None
        plans.append((f, conf, ticket, clock))
    # Every person any row may mail, read once: active members of this organization only.
    owners = {
        ticket.owner_id
        for _f, conf, ticket, _c in plans
        if conf and ticket and ticket.owner_id and (conf.notify_owner or conf.notify_manager)
    }
    wanted: set[int] = set(owners)
    for plan in plans:
        if plan[1] is not None:
            wanted |= plan[1].user_ids | plan[1].team_user_ids
    roles = {role for plan in plans if plan[1] for role in plan[1].roles}
    departments = {plan[2].department_id for plan in plans if plan[1] and plan[1].roles and plan[2]}
    by_role = _role_users(org_id, roles, departments)
    for users in by_role.values():
        wanted |= users
    members = _members(org_id, wanted)
    managers = _managers(org_id, owners) if _has_reports_to() else {}
    for manager in managers.values():
        if manager.user_id not in members:
            members[manager.user_id] = manager
    role_of = dict(
        Membership.objects.for_org(org_id)
        .filter(user_id__in=set().union(*by_role.values()) if by_role else set())
        .values_list("user_id", "desk_role")
    )
    sent_count = 0
    done: list[EscalationFired] = []
    connection = get_connection()
    error: Exception | None = None
    reader = _Reader()
    try:
        connection.open()
        for f, conf, ticket, clock in plans:
            if conf is None or ticket is None or clock is None:
                f.recipients = []  # its level or ticket is gone: nothing to say, never retried
                done.append(f)
                continue
            people = _recipients(conf, ticket, members, managers, by_role, role_of)
            messages = []
            for member in people:
                reader.become(member, ticket.org.time_zone)
                messages.append(_message(conf.template, ticket, clock, f, member, now))
            try:
                if messages:
                    connection.send_messages(messages)
            except Exception as exc:  # keep what was sent; the task retries the rest
                error = exc
                break
            f.recipients = [{"user": m.user_id, "email": m.user.email} for m in people]
            done.append(f)
            sent_count += len(messages)
    finally:
        reader.close()
        connection.close()
    if done:
        _mark_sent(org_id, done, now)
        _confirm(org_id, done, clocks, dues, now)
    return sent_count, error


def _mark_sent(org_id: int, done: list[EscalationFired], now: dt.datetime) -> None:
    """Set `mail_sent_at` and the recipients of the sent rows, in one UPDATE whose values come
    as two arrays: a VALUES list of a batch's 1,000 parameters cost a tenth of the sweep's CPU
    in the driver's splitting of the statement (too long for its cache)."""
    table = EscalationFired._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS f SET mail_sent_at = %s, recipients = v.recipients"  # noqa: S608 - our table
            " FROM unnest(%s::bigint[], %s::jsonb[]) AS v (id, recipients)"
            " WHERE f.org_id = %s AND f.id = v.id",
            [now, [f.pk for f in done], [json.dumps(f.recipients) for f in done], org_id],
        )


def _confirm(
    org_id: int,
    done: list[EscalationFired],
    clocks: dict,
    dues: dict[tuple[int, int], list[int]],
    now: dt.datetime,
) -> None:
    """Mark the due rows of the mailed escalations fired (rows locked before sending, so this
    waits for nobody): the sweep no longer re-claims them."""
    ids: list[int] = []
    for f in done:
        clock = clocks.get(f.clock_id)
        if clock is not None and clock.cycle == f.cycle:
            ids += dues.get((f.clock_id, f.level), ())
    if ids:
        ClockDue.objects.for_org(org_id).filter(any_of("pk", ids)).update(fired_at=now)


def _members(org_id: int, user_ids: set[int]) -> dict[int, Membership]:
    if not user_ids:
        return {}
    return {
        m.user_id: m
        for m in Membership.objects.for_org(org_id)
        .filter(user_id__in=user_ids, status=Membership.Status.ACTIVE)
        .select_related("user")
        .only(*MEMBER_FIELDS)
    }


def _managers(org_id: int, owner_ids: set[int]) -> dict[int, Membership]:
    """{owner's user id: their manager's membership} ("reports to"), active members only."""
    if not owner_ids:
        return {}
    pairs = dict(
        Membership.objects.for_org(org_id)
        .filter(user_id__in=owner_ids, reports_to__isnull=False)
        .values_list("user_id", "reports_to_id")
    )
    managers = {
        m.pk: m
        for m in Membership.objects.for_org(org_id)
        .filter(pk__in=set(pairs.values()), status=Membership.Status.ACTIVE)
        .select_related("user")
        .only(*MEMBER_FIELDS)
    }
    return {owner: managers[m] for owner, m in pairs.items() if m in managers}


def _recipients(
    conf: LevelConf,
    ticket: Ticket,
    members: dict[int, Membership],
    managers: dict[int, Membership],
    by_role: dict[int, set[int]],
    role_of: dict[int, str],
) -> list[Membership]:
    """The level's people for this ticket, each once, in a stable order."""
    user_ids: list[int] = []
    if conf.notify_owner and ticket.owner_id:
        user_ids.append(ticket.owner_id)
    if conf.notify_manager and ticket.owner_id in managers:
        user_ids.append(managers[ticket.owner_id].user_id)
    user_ids += sorted(conf.user_ids | conf.team_user_ids)
    if conf.roles:
        user_ids += sorted(
            u for u in by_role.get(ticket.department_id, ()) if role_of.get(u) in conf.roles
        )
    people = []
    for user_id in dict.fromkeys(user_ids):
        member = members.get(user_id)
        if member is not None and member.org_id == ticket.org_id and member.user.email:
            people.append(member)
    return people


class _Reader:
    """The language and time zone a message is written in: its recipient's (their own time
    zone, else the organization's). Switched only when the next recipient reads another, so
    that a batch's mails to the same people do not activate them again for each message."""

    def __init__(self) -> None:
        self.current: tuple[str | None, str] | None = None
        self.stack = ExitStack()

    def become(self, member: Membership, org_zone: str) -> None:
        user = member.user
        wanted = (user.language or None, user.time_zone or org_zone)
        if wanted == self.current:
            return
        self.stack.close()
        self.stack.enter_context(translation.override(wanted[0]))
        self.stack.enter_context(timezone.override(zoneinfo.ZoneInfo(wanted[1])))
        self.current = wanted

    def close(self) -> None:
        self.stack.close()
        self.current = None


def _message(
    template: MailTemplate,
    ticket: Ticket,
    clock: Clock,
    fired: EscalationFired,
    member: Membership,
    now: dt.datetime,
) -> EmailMessage:
    """The level's template for one recipient, in the language and time zone active (theirs:
    `_Reader.become`)."""
    extra = sla_values(target=clock.kind, level=fired.level, due_at=clock.due_at, now=now)
    return mail_template_message(
        template=template,
        ticket=ticket,
        to=[member.user.email],
        extra=extra,
        headers={
            "X-Madoguchi-Org": str(fired.org_id),
            HEADER: f"{fired.ticket_id}:{fired.clock_id}:{fired.cycle}:{fired.level}",
        },
    )
