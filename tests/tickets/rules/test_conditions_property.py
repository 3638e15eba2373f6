"""TKT-09, BP-07/BP-08: the condition language's two readings agree (with the fields the
blueprints app registers). Random tickets are written to
PostgreSQL, a random condition is parsed, and the tickets `matches` accepts are exactly those
`Ticket.objects.filter(to_q(...))` returns."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueprints.models import TicketBlueprint
from customers.models import Contact
from helpdesk.tenancy.models import Team, TeamMember
from helpdesk.tickets.conditions import matches, parse, schema_for, to_q
from helpdesk.tickets.models import (
    PRIORITY_RANK,
    Channel,
    CustomField,
    Priority,
    StatusKind,
    Tag,
    Thread,
    Ticket,
    TicketStatus,
    TicketTag,
)

NOW = dt.datetime(2026, 3, 10, 3, 30, tzinfo=dt.UTC)
# Letters whose upper case PostgreSQL and Python agree on, plus kana (which have none).
ALPHABET = "abcXYZ 1_%あイ"
texts = st.text(alphabet=ALPHABET, min_size=0, max_size=6)
needles = st.text(alphabet=ALPHABET, min_size=1, max_size=3)
moments = st.integers(min_value=-72, max_value=72).map(lambda h: NOW + dt.timedelta(hours=h))
days = st.integers(min_value=-6, max_value=6).map(lambda d: (NOW + dt.timedelta(days=d)).date())
windows = st.fixed_dictionaries(
    {"amount": st.integers(min_value=1, max_value=4), "unit": st.sampled_from(["hours", "days"])}
)
PICK = ["red", "green", "blue"]


class World:
    """The rows random tickets point at, made once per test."""

    def __init__(self, desk) -> None:
        self.desk = desk
        org = desk.org
        self.org = org
        self.departments = [desk.department, desk.other_department]
        self.statuses = list(TicketStatus.objects.for_org(org))
        self.owners = [desk.admin.user_id, desk.agent.user_id, desk.other_agent.user_id]
        team = Team.objects.create(org=org, department=desk.department, name="Tier 2")
        TeamMember.objects.create(org=org, team=team, user_id=desk.agent.user_id)
        self.teams = [team.pk]
        other = Contact.objects.create(org=org, last_name="Sato", email="")
        self.contacts = [desk.contact.pk, other.pk]
        self.accounts = [desk.account.pk]
        self.tags = [Tag.objects.create(org=org, name=n) for n in ("VIP", "bug", "あ")]
        for key, kind in (
            ("size", "number"),
            ("plan", "picklist"),
            ("note", "text"),
            ("when", "date"),
            ("at", "datetime"),
            ("ok", "checkbox"),
        ):
            CustomField.objects.create(
                org=org,
                department=desk.department,
                label=key.title(),
                key=key,
                type=kind,
                choices=PICK if kind == "picklist" else [],
            )
        # What blueprints add to the language (the owner's role, thread counts, the ticket's
        # blueprint state): a blueprint with two states the tickets may sit in.
        from blueprints.models import Blueprint, State

        blueprint = Blueprint.objects.create(org=org, name="Flow", department=desk.department)
        own = [st for st in self.statuses if st.department_id == desk.department.pk][:2]
        self.bp_states = [
            State.objects.create(org=org, blueprint=blueprint, status=st) for st in own
        ]
        self.schema = schema_for(org)


def ticket_data(world: World):
    custom = st.fixed_dictionaries(
        {},
        optional={
            "size": st.one_of(st.integers(-5, 5), st.sampled_from([0.5, 2.5]), st.none()),
            "plan": st.sampled_from([*PICK, None]),
            "note": st.one_of(texts, st.none()),
            "when": days.map(lambda d: d.isoformat()),
            "at": moments.map(lambda m: m.isoformat()),
            "ok": st.booleans(),
        },
    )
    return st.fixed_dictionaries(
        {
            "subject": texts,
            "description": texts,
            "status": st.sampled_from(world.statuses),
            "priority": st.sampled_from(Priority.values),
            "channel": st.sampled_from(Channel.values),
            "owner_id": st.sampled_from([None, *world.owners]),
            "contact_id": st.sampled_from([None, *world.contacts]),
            "account_id": st.sampled_from([None, *world.accounts]),
            "due_at": st.one_of(st.none(), moments),
            "created_at": moments,
            "custom_fields": custom,
            "tags": st.lists(st.sampled_from(world.tags), unique=True, max_size=2),
            "threads": st.lists(st.sampled_from(["incoming", "comment", "reply"]), max_size=3),
            "bp_state": st.sampled_from([None, *world.bp_states]),
        }
    )


def leaves(world: World):
    def leaf(field, op, value=None):
        out = {"field": field, "op": op}
        if value is not None:
            out["value"] = value
        return out

    text_fields = st.sampled_from(["subject", "description", "email", "cf.note"])
    empty_fields = st.sampled_from(
        [
            "description",
            "email",
            "owner",
            "team",
            "contact",
            "account",
            "tags",
            "due_at",
            "closed_at",
            *(f"cf.{k}" for k in ("size", "plan", "note", "when", "at")),
        ]
    )
    date_fields = st.sampled_from(["due_at", "created_at", "cf.at", "cf.when"])

    def date_leaf(field: str, op: str, data):
        if op in ("within_last", "within_next"):
            return leaf(field, op, data.draw(windows))
        pick = days if field == "cf.when" else st.one_of(days, moments)
        value = data.draw(pick).isoformat()
        if op == "between":
            other = data.draw(pick).isoformat()
            low, high = sorted([value, other], key=lambda v: v.replace("T", " ")[:10])
            return (
                leaf(field, op, [low, high])
                if low[:10] != high[:10]
                else leaf(field, "before", low)
            )
        return leaf(field, op, value)

    return st.one_of(
        st.builds(
            leaf,
            text_fields,
            st.sampled_from(["is", "is_not", "contains", "not_contains", "starts_with"]),
            needles,
        ),
        st.builds(leaf, empty_fields, st.sampled_from(["is_empty", "is_not_empty"])),
        st.builds(
            leaf,
            st.just("priority"),
            st.sampled_from(["is", "is_not", "lt", "lte", "gt", "gte"]),
            st.sampled_from(Priority.values),
        ),
        st.builds(
            leaf,
            st.just("priority"),
            st.sampled_from(["in", "not_in"]),
            st.lists(st.sampled_from(Priority.values), min_size=1, max_size=3),
        ),
        st.builds(
            leaf,
            st.just("status_kind"),
            st.sampled_from(["is", "is_not"]),
            st.sampled_from(StatusKind.values),
        ),
        st.builds(
            leaf,
            st.just("channel"),
            st.sampled_from(["in", "not_in"]),
            st.lists(st.sampled_from(Channel.values), min_size=1, max_size=2),
        ),
        st.builds(
            leaf, st.just("owner"), st.sampled_from(["is", "is_not"]), st.sampled_from(world.owners)
        ),
        st.builds(
            leaf,
            st.just("contact"),
            st.sampled_from(["in", "not_in"]),
            st.lists(st.sampled_from(world.contacts), min_size=1),
        ),
        st.builds(
            leaf,
            st.just("status"),
            st.sampled_from(["is", "is_not"]),
            st.sampled_from([s.pk for s in world.statuses]),
        ),
        st.builds(
            leaf,
            st.just("department"),
            st.sampled_from(["is", "is_not"]),
            st.sampled_from([d.pk for d in world.departments]),
        ),
        st.builds(
            leaf,
            st.just("team"),
            st.sampled_from(["is", "is_not", "in", "not_in"]),
            st.sampled_from(world.teams),
        ),
        st.builds(
            leaf,
            st.just("tags"),
            st.sampled_from(["contains", "not_contains"]),
            st.sampled_from(["vip", "BUG", "あ", "none"]),
        ),
        st.builds(
            leaf,
            st.just("cf.size"),
            st.sampled_from(["is", "is_not", "lt", "gte"]),
            st.sampled_from([-1, 0, 2.5, 3]),
        ),
        st.builds(leaf, st.just("cf.size"), st.just("between"), st.just([-2, 2])),
        st.builds(
            leaf, st.just("cf.plan"), st.sampled_from(["is", "is_not"]), st.sampled_from(PICK)
        ),
        st.builds(leaf, st.just("cf.ok"), st.just("is"), st.booleans()),
        st.builds(leaf, st.just("number"), st.sampled_from(["lt", "gt", "is"]), st.integers(1, 5)),
        # Fields the blueprints app registers (blueprints/conditions.py).
        st.builds(
            leaf,
            st.just("owner_role"),
            st.sampled_from(["is", "is_not"]),
            st.sampled_from(["admin", "agent", "restricted"]),
        ),
        st.builds(leaf, st.just("owner_role"), st.sampled_from(["is_empty", "is_not_empty"])),
        st.builds(
            leaf,
            st.sampled_from(["thread_count", "incoming_count"]),
            st.sampled_from(["is", "is_not", "lt", "lte", "gt", "gte"]),
            st.integers(0, 3),
        ),
        st.builds(leaf, st.just("incoming_count"), st.just("between"), st.just([1, 2])),
        st.builds(
            leaf,
            st.just("blueprint_state"),
            st.sampled_from(["is", "is_not"]),
            st.sampled_from([s.pk for s in world.bp_states]),
        ),
        st.builds(
            leaf,
            st.just("blueprint_state"),
            st.sampled_from(["in", "not_in"]),
            st.lists(st.sampled_from([s.pk for s in world.bp_states]), min_size=1),
        ),
        st.builds(leaf, st.just("blueprint_state"), st.sampled_from(["is_empty", "is_not_empty"])),
        st.tuples(
            date_fields,
            st.sampled_from(["before", "after", "between", "within_last", "within_next"]),
            st.data(),
        ).map(lambda t: date_leaf(*t)),
    )


def conditions(world: World):
    return st.recursive(
        leaves(world),
        lambda children: st.one_of(
            st.lists(children, min_size=1, max_size=3).map(lambda xs: {"all": xs}),
            st.lists(children, min_size=1, max_size=3).map(lambda xs: {"any": xs}),
        ),
        max_leaves=5,
    )


def _write(world: World, rows: list[dict]) -> list[Ticket]:
    tickets = []
    for n, row in enumerate(rows, start=1):
        data = dict(row)
        tags = data.pop("tags")
        threads = data.pop("threads")
        bp_state = data.pop("bp_state")
        created = data.pop("created_at")
        status = data["status"]
        ticket = Ticket.objects.create(
            org=world.org,
            number=n,
            department_id=status.department_id,
            status_kind=status.kind,
            priority_rank=PRIORITY_RANK[Priority(data["priority"])],
            closed_at=created if status.kind == StatusKind.CLOSED else None,
            **data,
        )
        Ticket.objects.filter(pk=ticket.pk).update(created_at=created, updated_at=created)
        ticket.created_at = ticket.updated_at = created
        TicketTag.objects.bulk_create(
            TicketTag(org=world.org, ticket=ticket, tag=tag) for tag in tags
        )
        Thread.objects.bulk_create(
            Thread(org=world.org, ticket=ticket, kind=kind, body="x") for kind in threads
        )
        if bp_state is not None:
            TicketBlueprint.objects.create(
                org=world.org,
                ticket=ticket,
                blueprint_id=bp_state.blueprint_id,
                state=bp_state,
                entered_at=created,
                started_at=created,
            )
        tickets.append(ticket)
    return tickets


@pytest.mark.django_db
def test_tkt09_evaluator_and_q_agree_on_random_tickets(desk):
    world = World(desk)
    seen = {"matched": 0, "missed": 0}

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def check(data):
        rows = data.draw(st.lists(ticket_data(world), min_size=1, max_size=6))
        raw = data.draw(conditions(world))
        with transaction.atomic():
            tickets = _write(world, rows)
            condition = parse(raw, schema=world.schema, org=world.org)
            by_python = {t.pk for t in tickets if matches(condition, t, now=NOW)}
            by_sql = set(
                Ticket.objects.for_org(world.org)
                .filter(to_q(condition, org=world.org, now=NOW))
                .values_list("pk", flat=True)
            )
            assert by_python == by_sql, (raw, rows)
            seen["matched"] += bool(by_python)
            seen["missed"] += len(by_python) < len(tickets)
            transaction.set_rollback(True)

    check()
    # The examples were not all trivially true or false.
    assert seen["matched"] > 20 and seen["missed"] > 20, seen
