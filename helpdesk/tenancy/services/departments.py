"""Departments, their agents and teams, business hours and holidays (DEP-01, DEP-03).

Every function takes the acting membership, checks that it administers the Desk and that
every object it is handed belongs to the actor's organization (`ensure_same_org`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import partial

import holidays as holidays_lib
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, QuerySet
from django.utils.translation import gettext as _

from ..guards import ensure_same_org
from ..models import (
    App,
    BusinessInterval,
    Department,
    DepartmentAgent,
    Holiday,
    Membership,
    Organization,
    Team,
    TeamMember,
    User,
)
from ..permissions import ensure_app_admin
from ..selectors import department_schedule_changed, desk_users


def desk_members(org: Organization) -> QuerySet[User]:
    """Users who may be agents: active or invited members with Desk access."""
    return desk_users(org, statuses=[Membership.Status.ACTIVE, Membership.Status.INVITED])


def _schedule_changed(org_id: int, department_id: int) -> None:
    """After commit, tell business time (SLA clocks) the department's schedule changed."""
    transaction.on_commit(partial(department_schedule_changed, org_id, department_id))


def _ensure_name_free(department: Department) -> None:
    clash = Department.objects.for_org(department.org).filter(name__iexact=department.name)
    if department.pk:
        clash = clash.exclude(pk=department.pk)
    if clash.exists():
        raise ValidationError(
            {"name": _("A department named “%(name)s” already exists.") % {"name": department.name}}
        )


@transaction.atomic
def department_save(*, actor: Membership, department: Department) -> Department:
    """Create or update a department (its fields set by the caller's form)."""
    ensure_app_admin(actor, App.DESK)
    if department.pk is not None:
        ensure_same_org(actor.org, department)
    department.org = actor.org
    department.name = department.name.strip()
    department.full_clean(exclude=["org"])
    _ensure_name_free(department)
    department.save()  # its layout (statuses) is made by tickets on first use
    _schedule_changed(department.org_id, department.pk)  # the time zone may have changed
    return department


@transaction.atomic
def department_set_enabled(
    *,
    actor: Membership,
    department: Department,
    enabled: bool,
) -> Department:
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, department)
    if not enabled:
        others = (
            Department.objects.for_org(actor.org).filter(is_enabled=True).exclude(pk=department.pk)
        )
        if not others.exists():
            raise ValidationError(_("At least one department must stay enabled."))
    department.is_enabled = enabled
    department.save(update_fields=["is_enabled"])
    return department


def department_delete(*, actor: Membership, department: Department) -> None:
    """Delete a department. Refused while records (tickets) still belong to it: the models
    that must survive point at departments with on_delete=PROTECT."""
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, department)
    others = Department.objects.for_org(actor.org).exclude(pk=department.pk)
    if not others.exists():
        raise ValidationError(_("An organization needs at least one department."))
    if department.is_enabled and not others.filter(is_enabled=True).exists():
        raise ValidationError(_("At least one department must stay enabled."))
    try:
        with transaction.atomic():
            department.delete()
    except (ProtectedError, IntegrityError) as exc:
        raise ValidationError(
            _(
                "“%(name)s” still has tickets. Move or delete its tickets first, or disable the "
                "department instead."
            )
            % {"name": department.name}
        ) from exc


@transaction.atomic
def department_set_agents(
    *, actor: Membership, department: Department, users: Iterable[User]
) -> None:
    """Replace the department's agents. Team members who leave the department leave its
    teams too."""
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, department)
    org = actor.org
    wanted = {u.pk for u in users}
    allowed = set(desk_members(org).values_list("pk", flat=True))
    if wanted - allowed:
        raise ValidationError(_("Agents must be users of this organization with Desk access."))
    current = set(
        DepartmentAgent.objects.for_org(org)
        .filter(department=department)
        .values_list("user_id", flat=True)
    )
    DepartmentAgent.objects.for_org(org).filter(
        department=department, user_id__in=current - wanted
    ).delete()
    TeamMember.objects.for_org(org).filter(team__department=department).exclude(
        user_id__in=wanted
    ).delete()
    DepartmentAgent.objects.bulk_create(
        DepartmentAgent(org=org, department=department, user_id=pk) for pk in wanted - current
    )


@transaction.atomic
def team_save(*, actor: Membership, team: Team, members: Iterable[User]) -> Team:
    """Create or update a team; its members must be agents of its department."""
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, team.department)
    if team.pk is not None:
        ensure_same_org(actor.org, team)
    org = actor.org
    team.org = org
    team.name = team.name.strip()
    team.full_clean(exclude=["org", "department"])
    clash = Team.objects.for_org(org).filter(department=team.department, name__iexact=team.name)
    if team.pk:
        clash = clash.exclude(pk=team.pk)
    if clash.exists():
        raise ValidationError(
            {
                "name": _("This department already has a team named “%(name)s”.")
                % {"name": team.name}
            }
        )
    wanted = {u.pk for u in members}
    agents = set(
        DepartmentAgent.objects.for_org(org)
        .filter(department=team.department)
        .values_list("user_id", flat=True)
    )
    if wanted - agents:
        raise ValidationError({"members": _("Team members must be agents of the department.")})
    team.save()
    TeamMember.objects.for_org(org).filter(team=team).exclude(user_id__in=wanted).delete()
    existing = set(
        TeamMember.objects.for_org(org).filter(team=team).values_list("user_id", flat=True)
    )
    TeamMember.objects.bulk_create(
        TeamMember(org=org, team=team, user_id=pk) for pk in wanted - existing
    )
    return team


@transaction.atomic
def team_delete(*, actor: Membership, team: Team) -> None:
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, team)
    team.delete()


# --- Business hours and holidays (DEP-03) ----------------------------------------------------
@transaction.atomic
def business_hours_set(
    *,
    actor: Membership,
    department: Department,
    time_zone: str,
    intervals: Iterable[tuple[int, dt.time, dt.time]],
) -> list[BusinessInterval]:
    """Replace the weekly schedule. Each interval is (weekday 0=Monday, start, end) in the
    department's time zone; intervals of a day may not overlap. No intervals = 24x7."""
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, department)
    rows = sorted(intervals)
    errors = []
    for weekday, start, end in rows:
        if not 0 <= weekday <= 6:
            errors.append(_("Choose a day of the week."))
        elif start >= end:
            errors.append(
                _("%(day)s: %(start)s–%(end)s ends before it starts.")
                % {
                    "day": BusinessInterval(weekday=weekday).get_weekday_display(),
                    "start": start.strftime("%H:%M"),
                    "end": end.strftime("%H:%M"),
                }
            )
    for (day_a, _start_a, end_a), (day_b, start_b, _end_b) in zip(rows, rows[1:], strict=False):
        if day_a == day_b and start_b < end_a:
            errors.append(
                _("%(day)s: intervals overlap.")
                % {"day": BusinessInterval(weekday=day_a).get_weekday_display()}
            )
    department.time_zone = time_zone
    try:
        department.full_clean(exclude=["org", "name"])
    except ValidationError as exc:
        errors.extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    department.save(update_fields=["time_zone"])
    org = actor.org
    BusinessInterval.objects.for_org(org).filter(department=department).delete()
    _schedule_changed(org.pk, department.pk)
    return BusinessInterval.objects.bulk_create(
        BusinessInterval(org=org, department=department, weekday=w, start=s, end=e)
        for w, s, e in rows
    )


@transaction.atomic
def holiday_add(
    *,
    actor: Membership,
    department: Department,
    date: dt.date,
    name: str,
) -> Holiday:
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, department)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the holiday a name.")})
    if Holiday.objects.for_org(actor.org).filter(department=department, date=date).exists():
        raise ValidationError({"date": _("%(date)s is already a holiday.") % {"date": date}})
    _schedule_changed(actor.org.pk, department.pk)
    return Holiday.objects.create(org=actor.org, department=department, date=date, name=name)


@transaction.atomic
def holiday_delete(*, actor: Membership, holiday: Holiday) -> None:
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, holiday)
    _schedule_changed(actor.org.pk, holiday.department_id)
    holiday.delete()


def holiday_countries() -> list[tuple[str, str]]:
    """(ISO code, "Name (code)") of the countries the `holidays` package knows, by name."""
    from holidays.registry import COUNTRIES

    rows = []
    for module, (class_name, code, *_rest) in COUNTRIES.items():
        label = module.replace("_", " ").title() if class_name else code
        rows.append((code, f"{label} ({code})"))
    return sorted(rows, key=lambda r: r[1])


@transaction.atomic
def holidays_import(
    *,
    actor: Membership,
    department: Department,
    country: str,
    year: int,
    language: str | None = None,
) -> int:
    """Add a country's public holidays for a year; dates already present are kept. Returns how
    many were added."""
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, department)
    if country not in holidays_lib.list_supported_countries():
        raise ValidationError({"country": _("Choose a supported country.")})
    if not 1950 <= year <= 2100:
        raise ValidationError({"year": _("Choose a year between 1950 and 2100.")})
    calendar = holidays_lib.country_holidays(country, years=year)
    # Always name a language: without one the package falls back to the server's locale.
    supported = getattr(calendar, "supported_languages", ())
    chosen = next(
        (
            code
            for code in supported
            if language and (code == language or code.startswith(f"{language}_"))
        ),
        calendar.default_language,
    )
    if chosen:
        calendar = holidays_lib.country_holidays(country, years=year, language=chosen)
    org = actor.org
    existing = set(
        Holiday.objects.for_org(org).filter(department=department).values_list("date", flat=True)
    )
    new = [
        Holiday(org=org, department=department, date=day, name=str(name)[:120])
        for day, name in sorted(calendar.items())
        if day not in existing
    ]
    Holiday.objects.bulk_create(new)
    _schedule_changed(org.pk, department.pk)
    return len(new)
