"""CUS-11 the Attachments tab of a contact and of an account: a note with a file, files
alone; download through the access-checked view only (members; 404 for another organization
and for non-members); delete by the author or a Desk admin; the size limit of ticket
attachments; files under the organization's prefix; hostile names and texts escaped.

Alice is Acme's account admin, Bob an agent at Acme, Ann a second agent, Rita restricted."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.attachments.models import CustomerFile, CustomerNote
from customers.attachments.services import attachment_add
from customers.models import Account, Contact
from helpdesk.tenancy.guards import OtherOrganizationError
from tests.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "tab-panel"}


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.fixture
def contact(acme) -> Contact:
    return Contact.objects.create(org=acme.org, last_name="Yamada", email="taro@umbrella.test")


@pytest.fixture
def account(acme) -> Account:
    return Account.objects.create(org=acme.org, name="Umbrella")


@pytest.fixture
def ann(acme):
    return acme.member(user=UserFactory(email="ann@acme.test", full_name="Ann"))


def tab_url(kind: str, record) -> str:
    return reverse(
        f"customers:{kind}_attachments",
        kwargs={"portal": record.org.portal, f"{kind}_id": record.pk},
    )


def file_url(item: CustomerFile, portal: str = "acme") -> str:
    return reverse("customers:customer_file", kwargs={"portal": portal, "file_id": item.pk})


def upload(name: str = "contract.pdf", content: bytes = b"%PDF-1.4 contract") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_cus11_note_with_a_file_then_download_by_a_member(client, acme, bob, contact, media):
    login(client, bob)
    response = client.post(
        tab_url("contact", contact),
        {"text": "Signed the contract.", "files": [upload()]},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/acme/customers/contacts/{contact.pk}/?tab=attachments"
    note = CustomerNote.objects.for_org(acme.org).get()
    item = CustomerFile.objects.for_org(acme.org).get()
    assert (note.contact, note.author, note.text) == (contact, bob.user, "Signed the contract.")
    assert (item.note, item.contact, item.name, item.size) == (note, contact, "contract.pdf", 17)
    assert item.content_type == "application/pdf" and item.uploaded_by == bob.user
    # Stored under the organization's prefix, with an unguessable name.
    assert item.file.name.startswith(f"org/{acme.org.pk}/customers/")
    assert "contract" not in item.file.name
    assert (media / item.file.name).read_bytes() == b"%PDF-1.4 contract"

    tab = client.get(tab_url("contact", contact))
    body = tab.content.decode()
    assert tab.status_code == 200 and "<h2" in body and "<html" not in body
    assert "Signed the contract." in body
    assert f'href="{file_url(item)}"' in body
    assert "/media/" not in body  # never a public media URL

    login(client, acme.admin)  # another member of the organization
    download = client.get(file_url(item))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 contract"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Cache-Control"] == "private, no-store"
    assert download["Content-Type"] == "application/pdf"


def test_cus11_files_alone_on_an_account_with_htmx(client, acme, bob, account):
    login(client, bob)
    response = client.post(
        tab_url("account", account),
        {"text": "", "files": [upload("a.txt", b"one"), upload("b.csv", b"two")]},
        **HTMX,
    )
    assert response.status_code == 200
    assert not CustomerNote.objects.for_org(acme.org).exists()
    names = sorted(CustomerFile.objects.for_org(acme.org).values_list("name", "account_id"))
    assert names == [("a.txt", account.pk), ("b.csv", account.pk)]
    body = html.unescape(response.content.decode())
    assert "Files added." in body and "a.txt" in body and "b.csv" in body


def test_cus11_dangerous_content_is_a_sandboxed_download(client, acme, bob, contact):
    login(client, bob)
    payload = b"<script>alert(document.cookie)</script>"
    client.post(tab_url("contact", contact), {"files": [upload("page.html", payload)]})
    item = CustomerFile.objects.for_org(acme.org).get()
    response = client.get(file_url(item))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_cus11_download_refused_to_another_organization_and_to_non_members(
    client, acme, globex, bob, contact
):
    added = attachment_add(actor=bob, contact=contact, text="x", files=[upload()])
    item = added.files[0]
    # Charlie (Globex's admin) on Acme's portal: not a member, the 404 of a missing portal.
    login(client, globex.admin)
    assert client.get(file_url(item)).status_code == 404
    # ... and with Acme's file id on his own portal: 404.
    assert client.get(file_url(item, portal="globex")).status_code == 404
    # Someone with an account but no membership anywhere.
    login(client, UserFactory(email="nobody@example.test"))
    assert client.get(file_url(item)).status_code == 404
    # Signed out: to the login page, never the file.
    client.logout()
    response = client.get(file_url(item))
    assert response.status_code in (302, 404) and not getattr(response, "streaming", False)


def test_cus11_delete_by_the_author_or_a_desk_admin_only(
    client, acme, bob, ann, contact, media, django_capture_on_commit_callbacks
):
    mine = attachment_add(actor=bob, contact=contact, text="Bob's note", files=[upload()])
    alone = attachment_add(actor=bob, contact=contact, files=[upload("b.txt", b"bee")])
    assert len(stored_files(media)) == 2
    note_delete = reverse(
        "customers:customer_note_delete", kwargs={"portal": "acme", "note_id": mine.note.pk}
    )
    file_delete = reverse(
        "customers:customer_file_delete",
        kwargs={"portal": "acme", "file_id": alone.files[0].pk},
    )
    login(client, ann)  # another agent: refused, nothing deleted
    assert client.post(note_delete).status_code == 403
    assert client.post(file_delete).status_code == 403
    assert (
        'hx-confirm="Delete this note'
        not in client.get(tab_url("contact", contact)).content.decode()
    )
    assert CustomerNote.objects.for_org(acme.org).count() == 1
    assert CustomerFile.objects.for_org(acme.org).count() == 2
    login(client, bob)  # the author
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(note_delete, **HTMX)
    assert response.status_code == 200
    assert not CustomerNote.objects.for_org(acme.org).exists()
    assert CustomerFile.objects.for_org(acme.org).count() == 1  # the note's file went with it
    assert len(stored_files(media)) == 1
    login(client, acme.admin)  # a Desk admin
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(file_delete).status_code == 302
    assert not CustomerFile.objects.for_org(acme.org).exists()
    assert stored_files(media) == []


def test_cus11_restricted_agent_reads_but_cannot_add(client, acme, contact):
    rita = acme.member(
        user=UserFactory(email="rita@acme.test", full_name="Rita"), desk_role="restricted"
    )
    login(client, rita)
    response = client.get(tab_url("contact", contact))
    assert response.status_code == 200
    assert 'data-testid="attachment-form"' not in response.content.decode()
    assert client.post(tab_url("contact", contact), {"text": "hi"}).status_code == 403
    assert not CustomerNote.objects.for_org(acme.org).exists()


def test_cus11_size_limit_of_ticket_attachments(client, acme, bob, contact, media, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    login(client, bob)
    response = client.post(
        tab_url("contact", contact),
        {"text": "With a big file", "files": [upload("big.bin", b"x" * 11)]},
        **HTMX,
    )
    assert response.status_code == 400
    body = html.unescape(response.content.decode())
    assert "“big.bin” is too large (11\xa0bytes); the limit is 10\xa0bytes." in body
    assert "With a big file" in body  # what was typed is kept
    assert not CustomerNote.objects.for_org(acme.org).exists()
    assert not CustomerFile.objects.for_org(acme.org).exists()
    assert stored_files(media) == []
    plain = client.post(tab_url("contact", contact), {"text": "", "files": []})
    assert plain.status_code == 400
    assert "Write a note or choose a file." in html.unescape(plain.content.decode())


def test_cus11_hostile_file_name_and_note_are_escaped(client, acme, bob, contact):
    login(client, bob)
    client.post(
        tab_url("contact", contact),
        {
            "text": "<script>alert('note')</script>",
            "files": [upload("<img src=x onerror=alert(1)>.txt", b"hi")],
        },
    )
    body = client.get(tab_url("contact", contact)).content.decode()
    assert "<script>alert(" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(&#x27;note&#x27;)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in body


def test_cus11_service_refuses_another_organizations_record(acme, globex, bob):
    theirs = Contact.objects.create(org=globex.org, last_name="Secret")
    with pytest.raises(OtherOrganizationError):
        attachment_add(actor=bob, contact=theirs, text="x")
    assert not CustomerNote.objects.for_org(globex.org).exists()


def test_cus11_cus04_notes_and_files_are_written_to_the_records_history(
    client, acme, bob, contact, account
):
    from customers.models import CustomerHistory

    login(client, bob)
    client.post(
        tab_url("contact", contact),
        {"text": "Called back", "files": [upload()]},
        REMOTE_ADDR="203.0.113.9",
    )
    entries = CustomerHistory.objects.for_org(acme.org).filter(kind="contact", record_id=contact.pk)
    rows = sorted(entries.values_list("action", "changes", "actor_id", "ip_address"))
    assert rows == [
        ("file_added", {"file": [None, "contract.pdf"]}, bob.user.pk, "203.0.113.9"),
        ("note_added", {"note": [None, "Called back"]}, bob.user.pk, "203.0.113.9"),
    ]
    note = CustomerNote.objects.for_org(acme.org).get()
    client.post(
        reverse("customers:customer_note_delete", kwargs={"portal": "acme", "note_id": note.pk})
    )
    deleted = sorted(entries.filter(action__endswith="deleted").values_list("action", "changes"))
    assert deleted == [
        ("file_deleted", {"file": ["contract.pdf", None]}),
        ("note_deleted", {"note": ["Called back", None]}),
    ]
    attachment_add(actor=bob, account=account, files=[upload("a.txt", b"a")])
    on_account = CustomerHistory.objects.for_org(acme.org).filter(kind="account")
    assert list(on_account.values_list("record_id", "action")) == [(account.pk, "file_added")]


def test_cus11_the_tab_is_a_fixed_number_of_queries(
    client, acme, bob, contact, django_assert_max_num_queries
):
    login(client, bob)
    attachment_add(actor=bob, contact=contact, text="first", files=[upload()])
    client.get(tab_url("contact", contact))
    with django_assert_max_num_queries(30) as few:
        client.get(tab_url("contact", contact))
    for n in range(8):
        attachment_add(
            actor=bob, contact=contact, text=f"note {n}", files=[upload(), upload("b.txt", b"b")]
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(tab_url("contact", contact))
    assert response.content.decode().count('data-note="') == 9


def test_cus11_merging_contacts_keeps_the_duplicates_notes_and_files(acme, bob, contact):
    from customers.views import contacts_merge_with_tickets

    duplicate = Contact.objects.create(org=acme.org, last_name="Yamada", email="t@old.test")
    added = attachment_add(
        actor=bob, contact=duplicate, text="From the old record", files=[upload()]
    )
    alone = attachment_add(actor=bob, contact=duplicate, files=[upload("b.txt", b"b")])
    contacts_merge_with_tickets(actor=acme.admin, primary=contact, duplicates=[duplicate], ip=None)
    assert not Contact.objects.for_org(acme.org).filter(pk=duplicate.pk).exists()
    note = CustomerNote.objects.for_org(acme.org).get()
    assert (note.pk, note.contact_id) == (added.note.pk, contact.pk)
    files = CustomerFile.objects.for_org(acme.org).order_by("pk")
    assert list(files.values_list("pk", "contact_id")) == [
        (added.files[0].pk, contact.pk),
        (alone.files[0].pk, contact.pk),
    ]


def test_cus11_deleting_the_record_removes_its_files_from_disk(
    client, acme, bob, contact, account, media, django_capture_on_commit_callbacks
):
    """A deleted contact or account takes its notes and files along, on disk too; a deletion
    that is refused (the contact has tickets) keeps them."""
    from tests.customers.factories import make_ticket

    attachment_add(actor=bob, contact=contact, text="note", files=[upload()])
    attachment_add(actor=bob, account=account, files=[upload("b.txt", b"bee")])
    assert len(stored_files(media)) == 2
    login(client, bob)
    ticket = make_ticket(acme, contact)
    with django_capture_on_commit_callbacks(execute=True):
        refused = client.post(
            reverse("customers:contact_delete", kwargs={"portal": "acme", "contact_id": contact.pk})
        )
    assert refused.status_code == 400
    assert len(stored_files(media)) == 2
    ticket.delete()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("customers:contact_delete", kwargs={"portal": "acme", "contact_id": contact.pk})
        )
        client.post(
            reverse("customers:account_delete", kwargs={"portal": "acme", "account_id": account.pk})
        )
    assert not Contact.objects.for_org(acme.org).exists()
    assert not CustomerFile.objects.for_org(acme.org).exists()
    assert not CustomerNote.objects.for_org(acme.org).exists()
    assert stored_files(media) == []
