"""factory-boy factories. Related objects always share one organization."""

from __future__ import annotations

import factory
from django.contrib.auth.hashers import make_password

from helpdesk.tenancy.models import (
    AdminLevel,
    Department,
    DepartmentAgent,
    DeskRole,
    Holiday,
    Membership,
    Organization,
    Plan,
    Team,
    User,
)

PASSWORD = "correct-horse-battery"
_HASHED = make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = _HASHED
    language = "en"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    portal = factory.Sequence(lambda n: f"org-{n}")
    plan = Plan.PROFESSIONAL


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    org = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    status = Membership.Status.ACTIVE
    desk_role = DeskRole.AGENT

    class Params:
        account_admin = factory.Trait(
            admin_level=AdminLevel.ACCOUNT,
            desk_role=DeskRole.ADMIN,
            crm_role="admin",
            chat_role="supervisor",
        )
        suite_admin = factory.Trait(admin_level=AdminLevel.SUITE, desk_role=DeskRole.ADMIN)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    org = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Department {n}")


class DepartmentAgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DepartmentAgent

    department = factory.SubFactory(DepartmentFactory)
    org = factory.SelfAttribute("department.org")
    user = factory.SubFactory(UserFactory)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    department = factory.SubFactory(DepartmentFactory)
    org = factory.SelfAttribute("department.org")
    name = factory.Sequence(lambda n: f"Team {n}")


class HolidayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Holiday

    department = factory.SubFactory(DepartmentFactory)
    org = factory.SelfAttribute("department.org")
    date = factory.Sequence(
        lambda n: __import__("datetime").date(2030, 1, 1) + __import__("datetime").timedelta(days=n)
    )
    name = "Holiday"


def escalate(ticket, level: int = 1):
    """Put `ticket` in the desk's "escalated" view (TKT-06) as the SLA sweep leaves it: an open
    resolution clock (of no policy) that reached `level`."""
    from django.utils import timezone

    from sla.models import Clock

    now = timezone.now()
    return Clock.objects.create(
        org_id=ticket.org_id,
        ticket=ticket,
        kind="resolution",
        department_id=ticket.department_id,
        target_minutes=60,
        business_hours=False,
        started_at=now,
        due_at=now,
        level_reached=level,
    )
