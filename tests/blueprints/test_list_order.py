"""Setup → Blueprints list (BP-21, BP-18, BP-19): the order changes by the endpoint the drag
uses and by the ↑/↓ buttons (the keyboard way), both through the configuration service, which
renews the definitions token; a bad list (not ids, unknown ids, another organization's
blueprint, one missing) is refused with a message and changes nothing; the ticket counts come
from one aggregated query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from blueprints import services as bp
from blueprints.models import Blueprint, DefinitionVersion
from helpdesk.tenancy.models import Department
from tests.blueprints.test_settings import _blueprint, _url
from tests.blueprints.test_settings import ent as ent_fixture  # noqa: F401 - reused fixture
from tests.conftest import login
from tests.tickets.conftest import desk as desk_fixture  # noqa: F401 - reused fixture

desk = desk_fixture
ent = ent_fixture
pytestmark = pytest.mark.django_db


def _order(desk) -> list[str]:
    return list(
        Blueprint.objects.for_org(desk.org)
        .filter(department=desk.department)
        .order_by("position", "pk")
        .values_list("name", flat=True)
    )


def _token(desk):
    return DefinitionVersion.objects.filter(org=desk.org).values_list("token", flat=True).first()


def test_bp21_drag_order_endpoint_saves_the_order_and_renews_the_token(client, ent):
    a, b, c = (_blueprint(ent, name, status="draft") for name in ("A", "B", "C"))
    before = _token(ent)
    login(client, ent.admin)
    url = _url(ent, "order", dept_id=ent.department.pk)
    response = client.post(url, {"ids": f"{c.pk},{a.pk},{b.pk}"})
    assert response.status_code == 200
    assert response.json() == {"message": "The new order is saved."}
    assert _order(ent) == ["C", "A", "B"]
    assert _token(ent) != before
    page = client.get(_url(ent, "department", dept_id=ent.department.pk)).content.decode()
    assert page.index('data-blueprint="C"') < page.index('data-blueprint="A"')
    assert f'data-order-url="{url}"' in page and "js/blueprint-order.js" in page


def test_bp21_keyboard_way_up_button_uses_the_same_service(client, ent):
    a, b = (_blueprint(ent, name, status="draft") for name in ("A", "B"))
    before = _token(ent)
    login(client, ent.admin)
    response = client.post(_url(ent, "action", blueprint_id=b.pk), {"action": "up"})
    assert response.status_code == 302 and f"moved={b.pk}" in response["Location"]
    assert _order(ent) == ["B", "A"]
    assert _token(ent) != before
    page = client.get(response["Location"]).content.decode()
    assert "“B” is now number 1 in the list." in page
    del a


@pytest.mark.parametrize(
    "ids, message",
    [
        ("", "The new order is not a list of blueprints."),
        ("a,b", "The new order is not a list of blueprints."),
        ("{a},{a}", "The list of blueprints changed meanwhile; reload the page."),
        ("{b}", "The list of blueprints changed meanwhile; reload the page."),
        ("{b},{a},999999", "The list of blueprints changed meanwhile; reload the page."),
        ("{b},{a},{other}", "The list of blueprints changed meanwhile; reload the page."),
    ],
)
def test_bp21_a_bad_order_is_refused_and_nothing_changes(client, ent, globex, ids, message):
    a, b = (_blueprint(ent, name, status="draft") for name in ("A", "B"))
    globex.org.plan = "enterprise"
    globex.org.save(update_fields=["plan"])
    department = Department.objects.for_org(globex.org).first()
    other = bp.blueprint_save(
        actor=globex.admin,
        data=bp.BlueprintInput(name="Theirs", department=department),
        status="draft",
    )
    before = _token(ent)
    login(client, ent.admin)
    response = client.post(
        _url(ent, "order", dept_id=ent.department.pk),
        {"ids": ids.format(a=a.pk, b=b.pk, other=other.pk)},
    )
    assert response.status_code == 400
    assert response.json() == {"error": message}
    assert _order(ent) == ["A", "B"]
    assert _token(ent) == before


def test_bp21_order_of_another_organizations_department_is_not_found(client, ent, globex):
    theirs = Department.objects.for_org(globex.org).first()
    login(client, ent.admin)
    url = reverse("blueprints:order", kwargs={"portal": ent.org.portal, "dept_id": theirs.pk})
    assert client.post(url, {"ids": "1"}).status_code == 404
    login(client, ent.agent)
    assert (
        client.post(_url(ent, "order", dept_id=ent.department.pk), {"ids": "1"}).status_code == 403
    )


def test_bp21_list_ticket_counts_in_one_query(client, ent):
    _blueprint(ent, "A", ("Open",))
    _blueprint(ent, "B", status="draft")
    ent.ticket()
    ent.ticket()
    login(client, ent.admin)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(_url(ent, "department", dept_id=ent.department.pk)).content.decode()
    counting = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counting) == 1
    row = html[html.index('data-blueprint="A"') : html.index('data-blueprint="B"')]
    assert '<td class="count">2</td>' in row
