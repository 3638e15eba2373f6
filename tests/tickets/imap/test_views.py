"""TKT-07: the IMAP mailboxes' setup pages, with the tests' own dovecot behind the "Test
connection" button: add, edit (the password never shown back, blank keeps it), test, enable
and disable, delete; a failing mailbox's error on the page; bad input; who may see them."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from helpdesk.tickets.imap import crypto
from helpdesk.tickets.imap.models import Mailbox, PollError
from helpdesk.tickets.imap.services import mailbox_poll
from tests.conftest import login
from tests.factories import DepartmentFactory, UserFactory

from .conftest import mailbox_for


def _url(org, name: str, **kwargs) -> str:
    return reverse(f"imap:{name}", kwargs={"portal": org.portal, **kwargs})


def _form(dovecot, department, **overrides) -> dict:
    data = {
        "department": department.pk,
        "host": dovecot.host,
        "port": dovecot.port,
        "security": "none",
        "username": "",
        "password": "",
        "folder": "INBOX",
        "enabled": "on",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_tkt07_admin_adds_a_mailbox_and_the_password_is_never_shown(
    alice_client, acme, dovecot, imap_account
):
    username, password = imap_account
    sales = DepartmentFactory(org=acme.org, name="Sales")
    page = alice_client.get(_url(acme.org, "mailboxes"))
    assert page.status_code == 200
    assert b"IMAP mailboxes" in page.content and b'aria-current="page"' in page.content

    response = alice_client.post(
        _url(acme.org, "mailbox_create"),
        _form(dovecot, sales, username=username, password=password),
    )
    assert response.status_code == 302
    mailbox = Mailbox.objects.for_org(acme.org).get()
    assert (mailbox.department, mailbox.username, mailbox.import_existing) == (
        sales,
        username,
        False,
    )
    assert password not in mailbox.password_encrypted
    assert crypto.decrypt(mailbox.password_encrypted) == password

    listing = alice_client.get(_url(acme.org, "mailboxes")).content.decode()
    assert username in listing and "Sales" in listing and "Not yet" in listing
    edit = alice_client.get(_url(acme.org, "mailbox_edit", mailbox_id=mailbox.pk)).content
    assert password.encode() not in edit and mailbox.password_encrypted.encode() not in edit
    assert b"Leave blank to keep the saved password." in edit

    # Saved again with the password left blank: it is kept.
    response = alice_client.post(
        _url(acme.org, "mailbox_edit", mailbox_id=mailbox.pk),
        _form(dovecot, sales, username=username, folder="INBOX"),
    )
    assert response.status_code == 302
    assert crypto.decrypt(Mailbox.objects.get(pk=mailbox.pk).password_encrypted) == password

    # The button logs in and says so.
    response = alice_client.post(_url(acme.org, "mailbox_test", mailbox_id=mailbox.pk), follow=True)
    assert "Connected: the folder “INBOX” has 0 messages." in response.content.decode()


@pytest.mark.django_db
def test_tkt07_bad_password_is_shown_to_the_admin(alice_client, acme, dovecot, imap_account):
    username, _password = imap_account
    mailbox = mailbox_for(acme, dovecot, (username, "wrong"))

    # The test button says so at once...
    response = alice_client.post(_url(acme.org, "mailbox_test", mailbox_id=mailbox.pk), follow=True)
    assert "The server refused the user name or password." in response.content.decode()

    # ...and a failed poll leaves it on the list and the mailbox's page until it works again.
    mailbox_poll(org_id=acme.org.pk, mailbox_id=mailbox.pk)
    listing = alice_client.get(_url(acme.org, "mailboxes")).content.decode()
    assert "Failing" in listing
    assert "The server refused the user name or password." in listing
    assert "AUTHENTICATIONFAILED" in listing  # the server's own words, as detail
    edit = alice_client.get(_url(acme.org, "mailbox_edit", mailbox_id=mailbox.pk)).content
    assert b"The server refused the user name or password." in edit

    # In Japanese for a Japanese admin.
    acme.admin.user.language = "ja"
    acme.admin.user.save(update_fields=["language"])
    with translation.override("ja"):
        expected = str(PollError.AUTH.label)
    assert expected == "サーバーがユーザー名またはパスワードを拒否しました。"
    japanese = alice_client.get(_url(acme.org, "mailboxes"), HTTP_ACCEPT_LANGUAGE="ja")
    assert expected in japanese.content.decode()

    # The admin types the right password: the error and its backoff are gone.
    response = alice_client.post(
        _url(acme.org, "mailbox_edit", mailbox_id=mailbox.pk),
        _form(dovecot, acme.department, username=username, password="secret"),
    )
    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.last_error, mailbox.failures, mailbox.next_poll_at) == ("", 0, None)


@pytest.mark.django_db
def test_tkt07_test_button_names_a_missing_folder(alice_client, acme, dovecot, imap_account):
    mailbox = mailbox_for(acme, dovecot, imap_account, folder="Nowhere")
    response = alice_client.post(_url(acme.org, "mailbox_test", mailbox_id=mailbox.pk), follow=True)
    assert "The folder does not exist on the server." in response.content.decode()


@pytest.mark.django_db
def test_tkt07_disable_enable_and_delete(alice_client, acme, dovecot, imap_account):
    mailbox = mailbox_for(acme, dovecot, imap_account)
    Mailbox.objects.filter(pk=mailbox.pk).update(failures=4)
    alice_client.post(_url(acme.org, "mailbox_toggle", mailbox_id=mailbox.pk))
    mailbox.refresh_from_db()
    assert not mailbox.enabled
    assert b"Disabled" in alice_client.get(_url(acme.org, "mailboxes")).content
    alice_client.post(_url(acme.org, "mailbox_toggle", mailbox_id=mailbox.pk))
    mailbox.refresh_from_db()
    assert mailbox.enabled and mailbox.failures == 0

    assert (
        alice_client.get(_url(acme.org, "mailbox_delete", mailbox_id=mailbox.pk)).status_code == 405
    )
    response = alice_client.post(
        _url(acme.org, "mailbox_delete", mailbox_id=mailbox.pk), follow=True
    )
    assert "deleted" in response.content.decode()
    assert not Mailbox.objects.for_org(acme.org).exists()


@pytest.mark.django_db
def test_tkt07_moving_a_mailbox_to_another_folder_reads_it_afresh(
    alice_client, acme, dovecot, imap_account
):
    mailbox = mailbox_for(acme, dovecot, imap_account)
    Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=5, last_uid=40)
    alice_client.post(
        _url(acme.org, "mailbox_edit", mailbox_id=mailbox.pk),
        _form(dovecot, acme.department, username=imap_account[0], folder="Support"),
    )
    mailbox.refresh_from_db()
    assert (mailbox.folder, mailbox.uidvalidity, mailbox.last_uid) == ("Support", None, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"host": "imap://mail.example.com"}, "host", "Enter the server's name only"),
        ({"host": ""}, "host", "This field is required."),
        ({"port": "abc"}, "port", "Enter a whole number."),
        ({"port": "70000"}, "port", "less than or equal to 65535"),
        ({"security": "telnet"}, "security", "Select a valid choice."),
        ({"username": ""}, "username", "This field is required."),
        ({"password": ""}, "password", "This field is required."),
        ({"department": "999999"}, "department", "Select a valid choice."),
    ],
)
def test_tkt07_bad_input_is_explained_and_nothing_saved(
    alice_client, acme, dovecot, overrides, field, message
):
    data = _form(dovecot, acme.department, username="a@example.test", password="x")
    data.update(overrides)
    response = alice_client.post(_url(acme.org, "mailbox_create"), data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not Mailbox.objects.for_org(acme.org).exists()


@pytest.mark.django_db
def test_tkt07_the_same_mailbox_twice_is_refused(alice_client, acme, dovecot, imap_account):
    mailbox_for(acme, dovecot, imap_account)
    data = _form(dovecot, acme.department, username=imap_account[0], password="secret")
    response = alice_client.post(_url(acme.org, "mailbox_create"), data)
    assert response.status_code == 400
    assert "This mailbox folder is already set up." in response.content.decode()


@pytest.mark.django_db
def test_tkt07_another_organizations_department_is_refused(alice_client, acme, globex, dovecot):
    theirs = globex.department
    data = _form(dovecot, theirs, username="a@example.test", password="x")
    response = alice_client.post(_url(acme.org, "mailbox_create"), data)
    assert response.status_code == 400
    assert not Mailbox.objects.filter(department=theirs).exists()


@pytest.mark.django_db
def test_tkt07_pages_are_for_desk_admins_only(client, acme, globex, dovecot, imap_account):
    mailbox = mailbox_for(acme, dovecot, imap_account)
    agent = acme.member(user=UserFactory(email="agent@acme.test"), desk_role="agent")
    login(client, agent)
    assert client.get(_url(acme.org, "mailboxes")).status_code == 403
    assert client.post(_url(acme.org, "mailbox_delete", mailbox_id=mailbox.pk)).status_code == 403
    assert Mailbox.objects.filter(pk=mailbox.pk).exists()

    login(client, globex.admin)  # an outsider: the portal does not exist for them
    assert client.get(_url(acme.org, "mailboxes")).status_code == 404
    assert client.get(_url(globex.org, "mailbox_edit", mailbox_id=mailbox.pk)).status_code == 404
    assert client.post(_url(globex.org, "mailbox_test", mailbox_id=mailbox.pk)).status_code == 404
