"""DEP-02: department layouts (statuses and custom fields) and the one custom-field validator."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.tickets.fields import clean_value, validate_custom_values
from helpdesk.tickets.models import CustomField, Ticket, TicketStatus
from tests.conftest import login


def url(name: str, desk, **kwargs) -> str:
    return reverse(
        f"layout:{name}", kwargs={"portal": "acme", "dept_id": desk.department.pk, **kwargs}
    )


def statuses(desk) -> list[tuple[str, str, bool]]:
    return list(
        TicketStatus.objects.for_org(desk.org)
        .filter(department=desk.department)
        .values_list("name", "kind", "is_default")
    )


def test_dep02_layout_page_lists_statuses_and_fields(client, desk):
    login(client, desk.admin)
    page = client.get(url("home", desk)).content.decode()
    assert 'data-status="On Hold"' in page and 'data-status="Escalated"' in page


def test_dep02_add_rename_and_retype_statuses(client, desk):
    login(client, desk.admin)
    response = client.post(
        url("status_create", desk), {"name": "Waiting on vendor", "kind": "on_hold"}
    )
    assert response.status_code == 302
    assert ("Waiting on vendor", "on_hold", False) in statuses(desk)
    ticket = desk.ticket(status=desk.status("Escalated"))
    escalated = desk.status("Escalated")
    client.post(
        url("status_edit", desk, status_id=escalated.pk), {"name": "Escalated", "kind": "on_hold"}
    )
    ticket.refresh_from_db()
    assert ticket.status_kind == "on_hold"  # tickets follow their status's kind


def test_dep02_duplicate_status_name_and_bad_kind_are_refused(client, desk):
    login(client, desk.admin)
    before = statuses(desk)
    response = client.post(url("status_create", desk), {"name": "open", "kind": "open"})
    assert response.status_code == 400
    assert "already has a status named" in response.content.decode()
    response = client.post(url("status_create", desk), {"name": "Weird", "kind": "purple"})
    assert response.status_code == 400
    assert statuses(desk) == before


def test_dep02_default_status_moves_and_cannot_be_deleted_or_unset(client, desk):
    login(client, desk.admin)
    response = client.post(
        url("status_delete", desk, status_id=desk.status("Open").pk), follow=True
    )
    assert "default status cannot be deleted" in response.content.decode()
    response = client.post(
        url("status_edit", desk, status_id=desk.status("Open").pk), {"name": "Open", "kind": "open"}
    )
    assert response.status_code == 400
    client.post(
        url("status_edit", desk, status_id=desk.status("Escalated").pk),
        {"name": "Escalated", "kind": "open", "is_default": "on"},
    )
    assert [s for s in statuses(desk) if s[2]] == [("Escalated", "open", True)]
    assert desk.ticket().status.name == "Escalated"


def test_dep02_status_in_use_cannot_be_deleted(client, desk):
    desk.ticket(status=desk.status("On Hold"))
    login(client, desk.admin)
    response = client.post(
        url("status_delete", desk, status_id=desk.status("On Hold").pk), follow=True
    )
    assert "is used by tickets" in response.content.decode()
    assert ("On Hold", "on_hold", False) in statuses(desk)
    unused = desk.status("Escalated")
    client.post(url("status_delete", desk, status_id=unused.pk))
    assert "Escalated" not in [s[0] for s in statuses(desk)]


def test_dep02_reorder_statuses(client, desk):
    login(client, desk.admin)
    ids = list(
        TicketStatus.objects.for_org(desk.org)
        .filter(department=desk.department)
        .values_list("pk", flat=True)
    )
    client.post(url("statuses_reorder", desk), {"order": list(reversed(ids))})
    assert [s[0] for s in statuses(desk)] == ["Closed", "Escalated", "On Hold", "Open"]
    response = client.post(url("statuses_reorder", desk), {"order": ids[:2]}, follow=True)
    assert "every status" in response.content.decode()


def test_dep02_custom_fields_of_every_type(client, desk):
    login(client, desk.admin)
    for label, kind in (
        ("Serial", "text"),
        ("Notes", "textarea"),
        ("Seats", "number"),
        ("Renewal", "date"),
        ("Call at", "datetime"),
        ("Paid", "checkbox"),
        ("Billing email", "email"),
        ("Site", "url"),
    ):
        assert (
            client.post(
                url("field_create", desk), {"label": label, "type": kind, "required": ""}
            ).status_code
            == 302
        )
    response = client.post(
        url("field_create", desk),
        {"label": "Plan", "type": "picklist", "choices_text": "Free\nPro\n\nEnterprise"},
    )
    assert response.status_code == 302
    fields = {f.key: f for f in CustomField.objects.for_org(desk.org)}
    assert fields["plan"].choices == ["Free", "Pro", "Enterprise"]
    assert set(fields) == {
        "serial",
        "notes",
        "seats",
        "renewal",
        "call_at",
        "paid",
        "billing_email",
        "site",
        "plan",
    }
    assert [f.order for f in CustomField.objects.for_org(desk.org)] == list(range(9))


def test_dep02_picklist_without_values_is_refused(client, desk):
    login(client, desk.admin)
    response = client.post(url("field_create", desk), {"label": "Plan", "type": "picklist"})
    assert response.status_code == 400
    assert "at least one value" in response.content.decode()
    assert not CustomField.objects.for_org(desk.org).exists()


def test_dep02_field_type_is_fixed_and_deleting_keeps_values(client, desk):
    login(client, desk.admin)
    client.post(url("field_create", desk), {"label": "Seats", "type": "number"})
    field = CustomField.objects.for_org(desk.org).get()
    ticket = desk.ticket(custom_fields={"seats": 3})
    client.post(url("field_edit", desk, field_id=field.pk), {"label": "Licences", "type": "text"})
    field.refresh_from_db()
    assert (field.label, field.type) == ("Licences", "number")
    client.post(url("field_delete", desk, field_id=field.pk))
    field.refresh_from_db()
    assert not field.is_active
    ticket.refresh_from_db()
    assert ticket.custom_fields == {"seats": 3}


def test_dep02_agents_cannot_change_the_layout(client, desk):
    login(client, desk.agent)
    before = statuses(desk)
    assert client.get(url("home", desk)).status_code == 403
    assert client.post(url("status_create", desk), {"name": "X", "kind": "open"}).status_code == 403
    assert client.post(url("field_create", desk), {"label": "X", "type": "text"}).status_code == 403
    assert statuses(desk) == before and not CustomField.objects.for_org(desk.org).exists()


# --- The validator ---------------------------------------------------------------------------
def _f(kind: str, **kwargs) -> CustomField:
    return CustomField(key="k", label="K", type=kind, **kwargs)


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("text", "  hi ", "hi"),
        ("number", "12", 12),
        ("number", "1.5", 1.5),
        ("date", "2030-01-31", "2030-01-31"),
        ("date", dt.date(2030, 1, 31), "2030-01-31"),
        ("datetime", "2030-01-31T09:00:00+09:00", "2030-01-31T00:00:00+00:00"),
        ("checkbox", "on", True),
        ("checkbox", False, False),
        ("email", "A@Example.COM", "a@example.com"),
        ("url", "https://example.com/x", "https://example.com/x"),
        ("text", "", None),
    ],
)
def test_dep02_validator_cleans_each_type(kind, value, expected):
    assert clean_value(_f(kind), value) == expected


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("number", "twelve"),
        ("number", "nan"),
        ("number", True),
        ("date", "31/01/2030"),
        ("datetime", "soon"),
        ("email", "nope"),
        ("url", "javascript:alert(1)"),
        ("url", "ftp://x"),
        ("checkbox", "maybe"),
        ("text", "x" * 256),
        ("text", 5),
    ],
)
def test_dep02_validator_refuses_wrong_types(kind, value):
    with pytest.raises(ValidationError):
        clean_value(_f(kind), value)


def test_dep02_validator_picklist_unknown_keys_and_required():
    fields = [
        _f("picklist", choices=["A", "B"]),
        CustomField(key="req", label="Req", type="text", required=True),
    ]
    assert validate_custom_values(fields, {"k": "A", "req": "x"}) == {"k": "A", "req": "x"}
    with pytest.raises(ValidationError) as info:
        validate_custom_values(fields, {"k": "C", "zzz": 1})
    assert set(info.value.message_dict) == {"k", "zzz", "req"}
    assert validate_custom_values(fields, {"k": "B"}, partial=True) == {"k": "B"}


@given(st.integers(min_value=-(10**14), max_value=10**14))
def test_dep02_validator_numbers_round_trip(number):
    assert clean_value(_f("number"), str(number)) == number


@given(st.text(max_size=300))
def test_dep02_validator_text_never_crashes(value):
    try:
        cleaned = clean_value(_f("text"), value)
    except ValidationError:
        assert len(value) > 255
    else:
        assert cleaned is None or len(cleaned) <= 255


def test_tkt01_ticket_keeps_custom_values_after_department_change(desk):
    CustomField.objects.create(
        org=desk.org, department=desk.department, label="Seats", key="seats", type="number"
    )
    ticket = desk.ticket(custom_fields={"seats": 2})
    from helpdesk.tickets.services.tickets import TicketInput, ticket_update

    ticket_update(
        actor=desk.admin, ticket=ticket, data=TicketInput(department=desk.other_department)
    )
    ticket.refresh_from_db()
    assert ticket.department == desk.other_department
    assert ticket.status.department == desk.other_department
    assert ticket.custom_fields == {}  # Billing has no such field
    assert Ticket.objects.for_org(desk.org).count() == 1


def test_dep02_reorder_custom_fields(client, desk):
    login(client, desk.admin)
    for label in ("A", "B", "C"):
        client.post(url("field_create", desk), {"label": label, "type": "text"})
    ids = list(CustomField.objects.for_org(desk.org).values_list("pk", flat=True))
    client.post(url("fields_reorder", desk), {"order": [ids[2], ids[0], ids[1]]})
    assert list(CustomField.objects.for_org(desk.org).values_list("label", flat=True)) == [
        "C",
        "A",
        "B",
    ]
    response = client.post(url("fields_reorder", desk), {"order": ids[:1]}, follow=True)
    assert "every field" in response.content.decode()
