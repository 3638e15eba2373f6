"""Chat departments (CHAT-01, CHAT-03..CHAT-06): Setup > Chat > Departments.

Alice is the account admin of Acme (a chat supervisor since sign-up); Olga is an operator
there; Bob is a desk agent without Chat; Charlie is Globex's admin (an outsider)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from chat.models import ChatDepartment, ChatOperator, Conversation, EmailKind, EmailSetting
from chat.selectors import operators_of
from chat.services.departments import department_create
from tests.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def url(tenant, name: str, department: ChatDepartment | None = None) -> str:
    kwargs = {"portal": tenant.org.portal}
    if department is not None:
        kwargs["chat_department_id"] = department.pk
    return reverse(f"chat:{name}", kwargs=kwargs)


def default_department(tenant) -> ChatDepartment:
    return ChatDepartment.objects.for_org(tenant.org).order_by("pk").first()


@pytest.fixture
def olga(acme):
    return acme.member(
        user=UserFactory(email="olga@acme.test", full_name="Olga Operator"),
        desk_role="",
        chat_role="operator",
    )


@pytest.fixture
def sales(acme, olga):
    return department_create(
        actor=acme.admin, name="Sales", description="Pre-sales questions", operators=[olga.user]
    )


def live_chats(tenant, department, count: int) -> None:
    for n in range(count):
        Conversation.objects.create(
            org=tenant.org, department=department, state="live", visitor_name=f"Visitor {n}"
        )


# --- CHAT-01 -----------------------------------------------------------------------------------
def test_chat01_signup_makes_a_default_department_named_after_the_portal(client, acme):
    department = ChatDepartment.objects.for_org(acme.org).get()
    assert department.name == "acme"  # the portal, not the display name "Acme"
    assert department.is_public and department.is_enabled
    assert operators_of(acme.org, department) == [acme.admin.user]
    settings = EmailSetting.objects.for_org(acme.org).filter(department=department)
    assert sorted(settings.values_list("kind", flat=True)) == sorted(EmailKind.values)
    assert not settings.filter(is_enabled=True).exists()

    login(client, acme.admin)
    page = client.get(url(acme, "departments")).content.decode()
    assert 'data-chat-department="acme"' in page
    assert "<td>1</td>" in page  # one operator


def test_chat01_create_a_department_with_operators(client, acme, olga):
    login(client, acme.admin)
    response = client.post(
        url(acme, "department_create"),
        {
            "name": "Billing",
            "description": "Invoices & refunds",
            "visibility": "private",
            "operators": [olga.user.pk],
        },
    )
    department = ChatDepartment.objects.for_org(acme.org).get(name="Billing")
    assert response.status_code == 302
    assert response.url == url(acme, "department", department)
    assert department.visibility == "private"
    assert department.description == "Invoices & refunds"
    assert operators_of(acme.org, department) == [olga.user]
    page = client.get(response.url).content.decode()
    assert "Invoices &amp; refunds" in page
    assert "Olga Operator" in page


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "This field is required."),
        ("  ", "This field is required."),
        ("ACME", "A chat department named “ACME” already exists."),
    ],
)
def test_chat01_create_refuses_an_empty_or_taken_name(client, acme, name, message):
    login(client, acme.admin)
    response = client.post(url(acme, "department_create"), {"name": name, "visibility": "public"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert ChatDepartment.objects.for_org(acme.org).count() == 1


def test_chat01_create_refuses_another_organizations_user_as_operator(client, acme, globex):
    login(client, acme.admin)
    response = client.post(
        url(acme, "department_create"),
        {"name": "Sales", "visibility": "public", "operators": [globex.admin.user.pk]},
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not ChatDepartment.objects.for_org(acme.org).filter(name="Sales").exists()


# --- CHAT-03 -----------------------------------------------------------------------------------
def test_chat03_add_and_remove_operators_at_any_time(client, acme, olga):
    department = default_department(acme)
    login(client, acme.admin)
    page = client.get(url(acme, "department", department)).content.decode()
    assert "Olga Operator &lt;olga@acme.test&gt;" in page  # offered in the add list

    response = client.post(url(acme, "operator_add", department), {"user": olga.user.pk}, **HX)
    assert response.status_code == 200
    assert "Operator added." in response.content.decode()
    assert 'data-operator="olga@acme.test"' in response.content.decode()
    assert olga.user in operators_of(acme.org, department)

    response = client.post(url(acme, "operator_remove", department), {"user": olga.user.pk}, **HX)
    assert response.status_code == 200
    assert "Operator removed." in response.content.decode()
    assert 'data-operator="olga@acme.test"' not in response.content.decode()
    assert operators_of(acme.org, department) == [acme.admin.user]


def test_chat03_only_members_with_chat_access_of_this_organization(client, acme, bob, globex):
    department = default_department(acme)
    login(client, acme.admin)
    deactivated = acme.member(chat_role="operator", status="deactivated")
    for user in (bob.user, globex.admin.user, deactivated.user):
        response = client.post(url(acme, "operator_add", department), {"user": user.pk}, **HX)
        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()
    assert operators_of(acme.org, department) == [acme.admin.user]
    assert not ChatOperator.objects.for_org(globex.org).filter(user=acme.admin.user).exists()


def test_chat03_the_service_refuses_a_member_without_chat(acme, bob):
    from django.core.exceptions import ValidationError

    from chat.services.departments import operator_add

    with pytest.raises(ValidationError, match="does not have access to Chat"):
        operator_add(actor=acme.admin, department=default_department(acme), user=bob.user)


# --- CHAT-04 -----------------------------------------------------------------------------------
def _mail(client, tenant, department, kind: str, addresses: str, enabled: bool = True):
    data = {"kind": kind, f"mail-{kind}-addresses": addresses}
    if enabled:
        data[f"mail-{kind}-enabled"] = "on"
    return client.post(url(tenant, "department_email", department), data, **HX)


def _setting(tenant, department, kind: str) -> EmailSetting:
    return EmailSetting.objects.for_org(tenant.org).get(department=department, kind=kind)


def test_chat04_each_email_setting_turns_on_and_off_with_its_addresses(client, acme):
    department = default_department(acme)
    login(client, acme.admin)
    for kind in EmailKind.values:
        response = _mail(client, acme, department, kind, f"{kind}@acme.test")
        assert response.status_code == 200, kind
        assert "Saved" in response.content.decode()
        setting = _setting(acme, department, kind)
        assert setting.is_enabled and setting.addresses == [f"{kind.replace('_', '_')}@acme.test"]
    response = _mail(client, acme, department, "missed", "missed@acme.test", enabled=False)
    assert response.status_code == 200
    assert not _setting(acme, department, "missed").is_enabled
    assert _setting(acme, department, "missed").addresses == ["missed@acme.test"]


def test_chat04_addresses_are_comma_separated_and_validated_one_by_one(client, acme):
    department = default_department(acme)
    login(client, acme.admin)
    response = _mail(client, acme, department, "transcript", " a@x.test,B@Example.COM , a@x.test")
    assert response.status_code == 200
    assert _setting(acme, department, "transcript").addresses == ["a@x.test", "B@example.com"]

    response = _mail(client, acme, department, "transcript", "c@x.test, bad, also bad@")
    body = response.content.decode()
    assert response.status_code == 400
    assert "“bad” is not a valid email address." in body
    assert "“also bad@” is not a valid email address." in body
    setting = _setting(acme, department, "transcript")
    assert setting.addresses == ["a@x.test", "B@example.com"]  # nothing saved
    assert setting.is_enabled


def test_chat04_from_address_takes_one_and_a_setting_that_is_on_needs_one(client, acme):
    department = default_department(acme)
    login(client, acme.admin)
    response = _mail(client, acme, department, "from", "a@x.test, b@x.test")
    assert response.status_code == 400
    assert "Enter one address only." in response.content.decode()
    response = _mail(client, acme, department, "feedback", "")
    assert response.status_code == 400
    assert "Enter an address to turn this on." in response.content.decode()
    assert not EmailSetting.objects.for_org(acme.org).filter(is_enabled=True).exists()


# --- CHAT-05 -----------------------------------------------------------------------------------
def test_chat05_every_setting_saves_at_once_and_the_page_shows_it_on_reload(client, acme):
    department = default_department(acme)
    login(client, acme.admin)
    page = client.get(url(acme, "department", department)).content.decode()
    # Name, description, type, the two visitor details the widget requires, the missed-chat
    # time (issue 15), status and six email settings each post as soon as they change.
    assert page.count('hx-trigger="change, submit"') == 13

    field = url(acme, "department_field", department)
    response = client.post(field, {"field": "name", "d-name-name": "Support <team>"}, **HX)
    body = response.content.decode()
    assert response.status_code == 200
    assert '<span class="saved" data-saved>Saved</span>' in body
    assert 'id="department-title" hx-swap-oob="true">Support &lt;team&gt;<' in body
    response = client.post(
        field, {"field": "description", "d-description-description": "Front line"}, **HX
    )
    assert response.status_code == 200
    response = client.post(
        field, {"field": "visibility", "d-visibility-visibility": "private"}, **HX
    )
    assert response.status_code == 200
    assert 'data-testid="embed-private"' in response.content.decode()  # the embed code goes
    _mail(client, acme, department, "cc", "boss@acme.test")

    page = client.get(url(acme, "department", department)).content.decode()
    assert 'value="Support &lt;team&gt;"' in page
    assert "Front line</textarea>" in page
    private = r'<input type="radio" name="d-visibility-visibility" value="private"[^>]* checked'
    assert re.search(private, page)
    assert 'value="boss@acme.test"' in page
    department.refresh_from_db()
    assert (department.name, department.description, department.visibility) == (
        "Support <team>",
        "Front line",
        "private",
    )


def test_chat05_a_refused_setting_shows_its_error_and_saves_nothing(client, acme, sales):
    login(client, acme.admin)
    field = url(acme, "department_field", sales)
    for value, message in (("", "This field is required."), ("acme", "already exists")):
        response = client.post(field, {"field": "name", "d-name-name": value}, **HX)
        assert response.status_code == 400
        assert message in response.content.decode()
        assert 'class="error" role="alert"' in response.content.decode()
    response = client.post(field, {"field": "visibility", "d-visibility-visibility": "x"}, **HX)
    assert response.status_code == 400
    sales.refresh_from_db()
    assert (sales.name, sales.visibility) == ("Sales", "public")


def test_chat05_without_javascript_a_setting_saves_and_returns_to_the_page(client, acme, sales):
    login(client, acme.admin)
    response = client.post(
        url(acme, "department_field", sales), {"field": "name", "d-name-name": "Sales JP"}
    )
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "Saved." in page and 'value="Sales JP"' in page
    response = client.post(
        url(acme, "department_field", sales), {"field": "name", "d-name-name": ""}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_chat02_embed_code_for_public_departments_and_a_new_key(client, acme):
    department = default_department(acme)
    login(client, acme.admin)
    page = client.get(url(acme, "department", department)).content.decode()
    assert f"/acme/chat/widget/{department.embed_key}.js" in page
    assert "&lt;script src=" in page  # shown as text to copy, never run
    old = department.embed_key
    response = client.post(url(acme, "embed_key_regenerate", department), **HX)
    department.refresh_from_db()
    assert response.status_code == 200
    assert department.embed_key != old and len(department.embed_key) >= 32
    assert department.embed_key in response.content.decode()


# --- CHAT-06 -----------------------------------------------------------------------------------
def test_chat06_disable_and_enable(client, acme, sales):
    login(client, acme.admin)
    response = client.post(url(acme, "department_status", sales), {}, **HX)
    assert response.status_code == 200
    assert 'data-testid="saved-status">Saved<' in response.content.decode()
    sales.refresh_from_db()
    assert not sales.is_enabled
    page = client.get(url(acme, "departments")).content.decode()
    assert "Disabled" in page
    client.post(url(acme, "department_status", sales), {"enabled": "on"}, **HX)
    sales.refresh_from_db()
    assert sales.is_enabled


def test_chat06_disable_refused_while_chats_are_live(client, acme, sales):
    live_chats(acme, sales, 2)
    login(client, acme.admin)
    response = client.post(url(acme, "department_status", sales), {}, **HX)
    assert response.status_code == 400
    assert "2 chats are in progress in this department" in response.content.decode()
    assert "checked" in response.content.decode()  # the switch shows it is still on
    sales.refresh_from_db()
    assert sales.is_enabled


def test_chat06_delete_asks_for_confirmation(client, acme, sales):
    Conversation.objects.create(org=acme.org, department=sales, state="ended")
    login(client, acme.admin)
    response = client.get(url(acme, "department_delete", sales))
    assert response.status_code == 200
    assert "Delete “Sales”?" in response.content.decode()
    assert ChatDepartment.objects.for_org(acme.org).filter(pk=sales.pk).exists()

    response = client.post(url(acme, "department_delete", sales))
    assert response.status_code == 302
    assert not ChatDepartment.objects.for_org(acme.org).filter(pk=sales.pk).exists()
    assert not ChatOperator.objects.for_org(acme.org).filter(department_id=sales.pk).exists()
    # Past chats stay, without a department.
    assert Conversation.objects.for_org(acme.org).get().department_id is None
    assert "was deleted" in client.get(response.url).content.decode()


def test_chat06_delete_refused_with_the_count_while_two_chats_are_live(client, acme, sales):
    live_chats(acme, sales, 2)
    Conversation.objects.create(org=acme.org, department=sales, state="ended")
    login(client, acme.admin)
    page = client.get(url(acme, "department_delete", sales)).content.decode()
    assert "2 chats are in progress in this department (waiting or live)." in page
    assert "disabled aria-describedby" in page
    response = client.post(url(acme, "department_delete", sales))
    assert response.status_code == 400
    assert "2 chats are in progress" in response.content.decode()
    assert ChatDepartment.objects.for_org(acme.org).filter(pk=sales.pk).exists()


def test_chat06_the_last_department_is_kept(client, acme):
    login(client, acme.admin)
    response = client.post(url(acme, "department_delete", default_department(acme)))
    assert response.status_code == 400
    assert "at least one chat department" in response.content.decode()


# --- Who may configure -------------------------------------------------------------------------
def _every_url(tenant, department):
    gets = [url(tenant, "departments"), url(tenant, "department_create")]
    gets += [url(tenant, n, department) for n in ("department", "department_delete")]
    posts = [
        url(tenant, n, department)
        for n in (
            "department_field",
            "department_email",
            "operator_add",
            "operator_remove",
            "department_status",
            "embed_key_regenerate",
            "department_delete",
        )
    ] + [url(tenant, "department_create")]
    return gets, posts


def test_an_operator_cannot_configure(client, acme, olga, sales):
    login(client, olga)
    assert client.get(reverse("chat_home", kwargs={"portal": "acme"})).status_code == 200
    gets, posts = _every_url(acme, sales)
    for u in gets:
        assert client.get(u).status_code == 403, u
    for u in posts:
        assert client.post(u, {"field": "name", "d-name-name": "Hacked"}).status_code == 403, u
    sales.refresh_from_db()
    assert sales.name == "Sales" and sales.is_enabled


def test_a_chat_app_admin_configures(client, acme):
    admin = acme.member(desk_role="", chat_role="operator", admin_level="app", admin_app="chat")
    login(client, admin)
    assert client.get(url(acme, "departments")).status_code == 200


def test_a_member_without_chat_is_refused(client, acme, bob):
    login(client, bob)
    assert client.get(reverse("chat_home", kwargs={"portal": "acme"})).status_code == 403
    assert client.get(url(acme, "departments")).status_code == 403


def test_another_organization_gets_404_everywhere(client, acme, globex, sales):
    theirs = default_department(globex)
    login(client, acme.admin)
    gets, posts = _every_url(acme, theirs)
    gets, posts = gets[2:], posts[:-1]  # the URLs that name a department
    for u in gets:
        assert client.get(u).status_code == 404, u
    for u in posts:
        assert client.post(u, {"field": "name", "d-name-name": "Hacked"}).status_code == 404, u
    login(client, globex.admin)
    gets, posts = _every_url(acme, sales)
    for u in gets:
        assert client.get(u).status_code == 404, u
    for u in posts:
        assert client.post(u).status_code == 404, u
    theirs.refresh_from_db()
    assert theirs.name == "globex"


def test_chat_home_lists_the_operators_departments(client, acme, olga, sales):
    login(client, olga)
    page = client.get(reverse("chat_home", kwargs={"portal": "acme"})).content.decode()
    assert "Sales" in page
    assert "acme" not in page.split('id="main"')[-1].split("</main>")[0].replace("/acme/", "")


@pytest.mark.parametrize("language", ["en", "ja"])
def test_chat_setup_pages_render_in_both_languages(client, acme, sales, language):
    acme.admin.user.language = language
    acme.admin.user.save()
    login(client, acme.admin)
    for u in (
        reverse("chat_home", kwargs={"portal": "acme"}),
        url(acme, "departments"),
        url(acme, "department_create"),
        url(acme, "department", sales),
        url(acme, "department_delete", sales),
    ):
        response = client.get(u)
        assert response.status_code == 200, u
        assert response.headers["Content-Language"] == language


def test_chat01_default_department_is_made_once(acme):
    from chat.services.departments import default_department_ensure

    assert default_department_ensure(org=acme.org, user=acme.admin.user) is None
    assert ChatDepartment.objects.for_org(acme.org).count() == 1


def test_chat01_an_organization_created_later_gets_its_own(acme, globex):
    """Each sign-up makes its own default department; nobody sees another's."""
    assert [d.name for d in ChatDepartment.objects.for_org(globex.org)] == ["globex"]
    assert operators_of(globex.org, default_department(globex)) == [globex.admin.user]
