"""CRM-10, CRM-11: desk tickets created and acted on from the CRM.

Acme's CRM is synced with Acme's own desk (Cora set it up). Sales users: Ada has a desk agent
account in the default department, Rita a restricted agent's, Sam none. Yui is a CRM contact
the sync linked to the desk; her desk ticket is the one they work on."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crmsync.models import CrmAccount, CrmContact, Deal, DealTicket, SyncLink
from crmsync.services import records as crm
from customers.models import Contact
from helpdesk.tickets.models import Attachment, StatusKind, Thread, Ticket, TicketHistory
from helpdesk.tickets.services.tickets import TicketInput, ticket_create
from tests.conftest import login
from tests.crmsync.test_sync import deliver, sync  # noqa: F401 - the fixture
from tests.factories import DepartmentAgentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def ada(acme):
    member = acme.member(
        user=UserFactory(email="ada@acme.test", full_name="Ada Agent"),
        desk_role="agent",
        crm_role="sales",
    )
    DepartmentAgentFactory(org=acme.org, department=acme.department, user=member.user)
    return member


@pytest.fixture
def rita(acme):
    member = acme.member(
        user=UserFactory(email="rita@acme.test", full_name="Rita Restricted"),
        desk_role="restricted",
        crm_role="sales",
    )
    DepartmentAgentFactory(org=acme.org, department=acme.department, user=member.user)
    return member


@pytest.fixture
def account(acme, cora, sync):  # noqa: F811
    account = crm.account_save(actor=cora, account=CrmAccount(org=acme.org, name="Initech"))
    deliver(sync)
    return account


@pytest.fixture
def yui(acme, cora, sync, account):  # noqa: F811
    """A CRM contact of Initech, delivered: linked to her desk twin."""
    contact = crm.contact_save(
        actor=cora,
        contact=CrmContact(
            org=acme.org,
            first_name="Yui",
            last_name="Tanaka",
            email="yui@cust.test",
            account=account,
        ),
    )
    deliver(sync)
    return contact


def twin(acme, contact: CrmContact) -> Contact:
    link = SyncLink.objects.for_org(acme.org).get(kind="contact", crm_id=contact.pk)
    return Contact.objects.for_org(acme.org).get(pk=link.desk_id)


@pytest.fixture
def ticket(acme, yui):
    return ticket_create(
        actor=acme.admin,
        data=TicketInput(
            subject="Printer on fire",
            description="It <b>burns</b>",
            department=acme.department,
            contact=twin(acme, yui),
        ),
    )


def url(acme, name: str, number: int | None = None) -> str:
    kwargs = {"portal": acme.org.portal}
    if number is not None:
        kwargs["number"] = number
    return reverse(f"crm:{name}", kwargs=kwargs)


def stored(acme, ticket) -> Ticket | None:
    return Ticket.objects.for_org(acme.org).filter(pk=ticket.pk).first()


def threads(acme, ticket) -> list[tuple[str, int | None]]:
    rows = Thread.objects.for_org(acme.org).filter(ticket_id=ticket.pk).order_by("pk")
    return list(rows.values_list("kind", "author_id"))


def history(acme, ticket, action: str) -> list[TicketHistory]:
    return list(TicketHistory.objects.for_org(acme.org).filter(ticket_id=ticket.pk, action=action))


# --- The page ----------------------------------------------------------------------------------
def test_crm11_the_ticket_page_shows_the_ticket_escaped_and_the_agents_actions(
    client, acme, ada, ticket
):
    response = login(client, ada).get(url(acme, "ticket", ticket.number))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Printer on fire" in body
    assert "It &lt;b&gt;burns&lt;/b&gt;" in body  # typed text shows as typed
    assert "Tanaka Yui" in body  # the desk contact
    assert 'data-testid="open-in-desk"' in body
    for panel in ("reply-panel", "forward-panel", "comment-panel", "fields-panel"):
        assert f'data-testid="{panel}"' in body
    assert 'data-testid="close-ticket"' in body
    assert 'data-testid="delete-ticket"' in body


def test_crm11_without_a_desk_account_the_page_offers_only_a_comment(client, acme, sam, ticket):
    response = login(client, sam).get(url(acme, "ticket", ticket.number))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="comment-panel"' in body
    assert 'data-testid="comment-only"' in body
    for absent in ("reply-panel", "forward-panel", "fields-panel", "close-ticket", "open-in-desk"):
        assert f'data-testid="{absent}"' not in body


# --- Acting as a desk agent --------------------------------------------------------------------
def test_crm11_an_agent_replies_from_the_crm_and_the_desk_sees_it(client, acme, ada, ticket):
    response = login(client, ada).post(
        url(acme, "ticket_reply", ticket.number), {"reply-body": "We are on it."}
    )
    assert response.status_code == 302
    assert threads(acme, ticket) == [("reply", ada.user_id)]
    assert [h.actor_id for h in history(acme, ticket, "reply")] == [ada.user_id]


def test_crm11_an_agent_forwards(client, acme, ada, ticket):
    login(client, ada).post(
        url(acme, "ticket_forward", ticket.number),
        {"forward-to": "vendor@example.com", "forward-body": "FYI"},
    )
    row = Thread.objects.for_org(acme.org).get(ticket_id=ticket.pk)
    assert (row.kind, row.author_id, row.to) == ("forward", ada.user_id, "vendor@example.com")


def test_crm11_an_agent_comments_with_an_attachment_downloadable_from_the_crm(
    client, acme, ada, sam, ticket
):
    login(client, ada).post(
        url(acme, "ticket_comment", ticket.number),
        {"comment-body": "Log attached", "comment-files": SimpleUploadedFile("log.txt", b"boom")},
    )
    assert threads(acme, ticket) == [("comment", ada.user_id)]
    attachment = Attachment.objects.for_org(acme.org).get(ticket_id=ticket.pk)
    # Sam (no desk account) downloads it through the CRM.
    download = reverse(
        "crm:ticket_attachment",
        kwargs={"portal": "acme", "number": ticket.number, "attachment_id": attachment.pk},
    )
    response = login(client, sam).get(download)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"boom"


def test_crm11_an_agent_updates_fields_with_history_in_their_name(client, acme, ada, ticket):
    response = login(client, ada).post(
        url(acme, "ticket_update", ticket.number),
        {
            "fields-status": ticket.status_id,
            "fields-priority": "high",
            "fields-owner": ada.user_id,
            "fields-due_at": "2031-05-01T10:00",
            "fields-department": acme.department.pk,
        },
    )
    assert response.status_code == 302
    row = stored(acme, ticket)
    assert (row.priority, row.owner_id, row.due_at.year) == ("high", ada.user_id, 2031)
    (change,) = history(acme, ticket, "updated")
    assert change.actor_id == ada.user_id
    assert set(change.changes) == {"priority", "owner", "due_at"}


def test_crm11_an_agent_closes_and_deletes(client, acme, ada, ticket, yui):
    login(client, ada)
    assert client.post(url(acme, "ticket_close", ticket.number)).status_code == 302
    assert stored(acme, ticket).status_kind == StatusKind.CLOSED
    assert history(acme, ticket, "updated")[0].actor_id == ada.user_id

    confirm = client.get(url(acme, "ticket_delete", ticket.number))
    assert confirm.status_code == 200 and b"cannot be undone" in confirm.content
    response = client.post(url(acme, "ticket_delete", ticket.number))
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "crm:contact_detail", kwargs={"portal": "acme", "crm_contact_id": yui.pk}
    )
    assert stored(acme, ticket) is None


def test_crm11_deleting_removes_the_deal_links(client, acme, ada, ticket, account):
    deal = Deal.objects.create(org=acme.org, name="TPS", account=account, owner=ada.user)
    from crmsync.models import Integration

    DealTicket.objects.create(
        org=acme.org,
        integration=Integration.objects.for_org(acme.org).get(),
        deal=deal,
        ticket_id=ticket.pk,
    )
    login(client, ada).post(url(acme, "ticket_delete", ticket.number))
    assert not DealTicket.objects.for_org(acme.org).exists()


# --- Without a desk account: comments only ----------------------------------------------------
def test_crm11_without_a_desk_account_everything_but_a_comment_is_refused(
    client, acme, sam, ticket
):
    login(client, sam)
    before = (stored(acme, ticket).status_id, stored(acme, ticket).priority)
    posts = {
        "ticket_reply": {"reply-body": "hi"},
        "ticket_forward": {"forward-to": "a@example.com", "forward-body": "x"},
        "ticket_update": {"fields-status": ticket.status_id, "fields-priority": "urgent"},
        "ticket_close": {},
        "ticket_delete": {},
    }
    for name, data in posts.items():
        assert client.post(url(acme, name, ticket.number), data).status_code == 403, name
    assert client.get(url(acme, "ticket_delete", ticket.number)).status_code == 403
    row = stored(acme, ticket)
    assert (row.status_id, row.priority) == before
    assert threads(acme, ticket) == []


def test_crm11_without_a_desk_account_a_comment_is_private_and_in_their_name(
    client, acme, sam, ticket
):
    response = login(client, sam).post(
        url(acme, "ticket_comment", ticket.number), {"comment-body": "Customer <called> me"}
    )
    assert response.status_code == 302
    row = Thread.objects.for_org(acme.org).get(ticket_id=ticket.pk)
    assert (row.kind, row.author_id) == ("comment", sam.user_id)
    assert "&lt;called&gt;" in row.body
    assert [h.actor_id for h in history(acme, ticket, "comment")] == [sam.user_id]
    # The desk agent's ticket page shows the comment under Sam's name.
    page = login(client, acme.admin).get(
        reverse("desk:ticket_detail", kwargs={"portal": "acme", "number": ticket.number})
    )
    assert b"Sam Sales" in page.content and b"Customer &lt;called&gt; me" in page.content


# --- A restricted agent -----------------------------------------------------------------------
def test_crm11_a_restricted_agent_may_comment_but_not_reply_or_update(client, acme, rita, ticket):
    login(client, rita)
    page = client.get(url(acme, "ticket", ticket.number)).content
    assert b'data-testid="reply-panel"' not in page and b'data-testid="fields-panel"' not in page
    assert (
        client.post(url(acme, "ticket_reply", ticket.number), {"reply-body": "x"}).status_code
        == 403
    )
    assert client.post(url(acme, "ticket_close", ticket.number)).status_code == 403
    assert (
        client.post(
            url(acme, "ticket_comment", ticket.number), {"comment-body": "noted"}
        ).status_code
        == 302
    )
    assert threads(acme, ticket) == [("comment", rita.user_id)]
    assert stored(acme, ticket).status_kind != StatusKind.CLOSED


def test_crm11_assigning_someone_else_is_for_desk_admins(client, acme, ada, bob, ticket):
    DepartmentAgentFactory(org=acme.org, department=acme.department, user=bob.user)
    response = login(client, ada).post(
        url(acme, "ticket_update", ticket.number),
        {
            "fields-status": ticket.status_id,
            "fields-priority": "low",
            "fields-owner": bob.user_id,
            "fields-department": acme.department.pk,
        },
    )
    assert response.status_code == 403
    assert b"Only Desk administrators" in response.content
    assert stored(acme, ticket).owner_id is None


# --- Bad input, unreachable tickets, outsiders -------------------------------------------------
def test_crm11_bad_input_is_a_400_keeping_what_was_typed(client, acme, ada, ticket):
    login(client, ada)
    response = client.post(
        url(acme, "ticket_forward", ticket.number),
        {"forward-to": "not an address", "forward-body": "Keep me"},
    )
    assert response.status_code == 400
    assert b"is not a valid email address" in response.content
    assert b"Keep me" in response.content
    response = client.post(url(acme, "ticket_reply", ticket.number), {"reply-body": ""})
    assert response.status_code == 400
    response = client.post(
        url(acme, "ticket_update", ticket.number),
        {"fields-status": "999999", "fields-priority": "urgent"},
    )
    assert response.status_code == 400
    assert threads(acme, ticket) == []
    assert stored(acme, ticket).priority == "medium"


def test_crm11_a_desk_ticket_the_crm_cannot_reach_is_a_404(client, acme, ada, sync):  # noqa: F811
    hidden = ticket_create(
        actor=acme.admin,
        data=TicketInput(
            subject="Internal", department=acme.department, contact_email="x@internal.test"
        ),
    )
    login(client, ada)
    assert client.get(url(acme, "ticket", hidden.number)).status_code == 404
    assert (
        client.post(url(acme, "ticket_comment", hidden.number), {"comment-body": "x"}).status_code
        == 404
    )
    assert client.get(url(acme, "ticket", 999)).status_code == 404
    assert threads(acme, hidden) == []


def test_crm11_another_organization_gets_a_404(client, acme, globex, ticket):
    login(client, globex.admin)
    assert client.get(url(acme, "ticket", ticket.number)).status_code == 404
    other = reverse("crm:ticket", kwargs={"portal": "globex", "number": ticket.number})
    assert client.get(other).status_code == 404
    comment = reverse("crm:ticket_comment", kwargs={"portal": "globex", "number": ticket.number})
    assert client.post(comment, {"comment-body": "x"}).status_code == 404
    assert threads(acme, ticket) == []


# --- Creating a ticket from a record (CRM-10) --------------------------------------------------
def test_crm10_new_ticket_button_only_for_desk_users_who_may_create(client, acme, ada, sam, yui):
    page = reverse("crm:contact_detail", kwargs={"portal": "acme", "crm_contact_id": yui.pk})
    assert b'data-testid="new-ticket"' in login(client, ada).get(page).content
    assert b'data-testid="new-ticket"' not in login(client, sam).get(page).content
    response = client.get(url(acme, "ticket_create") + f"?contact={yui.pk}")
    assert response.status_code == 403
    assert b"You have no desk account" in response.content


def test_crm10_create_from_a_contact(client, acme, ada, account, yui):
    login(client, ada)
    create = url(acme, "ticket_create") + f"?contact={yui.pk}"
    assert client.get(create).status_code == 200
    response = client.post(
        create,
        {
            "subject": "Invoice question",
            "description": "Why?",
            "department": acme.department.pk,
            "priority": "high",
            "contact": yui.pk,
        },
    )
    ticket = Ticket.objects.for_org(acme.org).get(subject="Invoice question")
    assert response.status_code == 302
    assert response["Location"] == url(acme, "ticket", ticket.number)
    assert (ticket.contact_id, ticket.priority, ticket.created_by_id) == (
        twin(acme, yui).pk,
        "high",
        ada.user_id,
    )
    # The CRM contact's account, as the sync linked it to the desk.
    link = SyncLink.objects.for_org(acme.org).get(kind="account", crm_id=account.pk)
    assert ticket.account_id == link.desk_id
    assert history(acme, ticket, "created")[0].actor_id == ada.user_id


def test_crm10_create_from_an_account_choosing_a_contact_with_an_attachment(
    client, acme, ada, account, yui
):
    response = login(client, ada).post(
        url(acme, "ticket_create") + f"?account={account.pk}",
        {
            "subject": "Broken stapler",
            "department": acme.department.pk,
            "priority": "medium",
            "contact": yui.pk,
            "files": [SimpleUploadedFile("photo.png", b"\x89PNG..")],
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.for_org(acme.org).get(subject="Broken stapler")
    assert ticket.contact_id == twin(acme, yui).pk
    assert threads(acme, ticket) == [("comment", ada.user_id)]
    assert Attachment.objects.for_org(acme.org).get(ticket=ticket).name == "photo.png"


def test_crm10_create_from_a_deal_links_it(client, acme, ada, sam, account, yui):
    deal = Deal.objects.create(org=acme.org, name="TPS", account=account, owner=sam.user)
    response = login(client, ada).post(
        url(acme, "ticket_create") + f"?deal={deal.pk}",
        {
            "subject": "Before we sign",
            "department": acme.department.pk,
            "priority": "medium",
            "contact": yui.pk,
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.for_org(acme.org).get(subject="Before we sign")
    assert list(
        DealTicket.objects.for_org(acme.org).values_list("deal_id", "ticket_id", "linked_by")
    ) == [(deal.pk, ticket.pk, ada.user_id)]


def test_crm10_create_with_a_new_contact_makes_one_contact_on_each_side(
    client,
    acme,
    ada,
    account,
    sync,  # noqa: F811
):
    response = login(client, ada).post(
        url(acme, "ticket_create") + f"?account={account.pk}",
        {
            "subject": "New buyer",
            "department": acme.department.pk,
            "priority": "medium",
            "contact": "",
            "new_first_name": "Ken",
            "new_last_name": "Mori",
            "new_email": "Ken@Cust.test",
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.for_org(acme.org).get(subject="New buyer")
    crm_contact = CrmContact.objects.for_org(acme.org).get(email="ken@cust.test")
    assert crm_contact.account_id == account.pk
    deliver(sync)
    desk_contacts = Contact.objects.for_org(acme.org).filter(email__iexact="ken@cust.test")
    assert [c.pk for c in desk_contacts] == [ticket.contact_id]
    assert twin(acme, crm_contact).pk == ticket.contact_id
    assert CrmContact.objects.for_org(acme.org).filter(email="ken@cust.test").count() == 1
    assert desk_contacts.get().first_name == "Ken"


def test_crm10_bad_input_writes_nothing(client, acme, ada, account, yui):
    def counts():
        return (
            CrmContact.objects.for_org(acme.org).count(),
            Ticket.objects.for_org(acme.org).count(),
        )

    before = counts()
    response = login(client, ada).post(
        url(acme, "ticket_create") + f"?account={account.pk}",
        {
            "subject": "",
            "department": acme.department.pk,
            "priority": "medium",
            "new_last_name": "Typed",
            "new_email": "typed@cust.test",
        },
    )
    assert response.status_code == 400
    assert b"typed@cust.test" in response.content
    response = client.post(
        url(acme, "ticket_create") + f"?account={account.pk}",
        {"subject": "No contact", "department": acme.department.pk, "priority": "medium"},
    )
    assert response.status_code == 400
    assert b"Choose a contact" in response.content
    assert counts() == before


def test_crm10_records_of_another_organization_are_a_404(client, acme, globex, ada, yui):
    login(client, globex.admin)
    create = reverse("crm:ticket_create", kwargs={"portal": "globex"}) + f"?contact={yui.pk}"
    assert client.get(create).status_code == 404
    login(client, ada)
    assert client.get(url(acme, "ticket_create") + "?contact=x").status_code == 404
    assert client.get(url(acme, "ticket_create")).status_code == 404


def test_crm10_another_organizations_record_in_the_query_is_a_404(client, acme, globex, ada, yui):
    theirs = CrmContact.objects.create(org=globex.org, last_name="Secret", email="s@globex.test")
    login(client, ada)
    create = url(acme, "ticket_create") + f"?contact={theirs.pk}"
    assert client.get(create).status_code == 404
    response = client.post(
        create,
        {"subject": "x", "department": acme.department.pk, "priority": "medium", "contact": ""},
    )
    assert response.status_code == 404
    assert not Ticket.objects.for_org(acme.org).exists()


# --- Another organization's desk (a key) ---------------------------------------------------------
def test_crm10_crm11_with_another_organizations_desk(client, acme, globex, cora, sam, sue):
    """Acme's CRM works with Globex's desk (Charlie's key): Sue also has a desk agent account
    at Globex; Sam has none there. Everything happens in Globex's desk, under its scope."""
    from crmsync.models import Integration
    from crmsync.services import integration as svc
    from tests.factories import MembershipFactory

    _row, key = svc.key_issue(actor=globex.admin, label="Acme sales")
    integration = svc.integration_connect_other(
        actor=cora, portal=globex.org.portal, admin_email="charlie@globex.test", key=key
    )
    integration = svc.integration_options(
        actor=cora,
        integration=integration,
        direction=Integration.Direction.TWO_WAY,
        match_secondary_email=False,
        product_department_ids=[],
    )
    integration = svc.integration_transition(actor=cora, integration=integration, action="enable")
    MembershipFactory(org=globex.org, user=sue.user, desk_role="agent")
    DepartmentAgentFactory(org=globex.org, department=globex.department, user=sue.user)
    mei = crm.contact_save(
        actor=cora, contact=CrmContact(org=acme.org, last_name="Mei", email="mei@cust.test")
    )
    deliver(integration)

    response = login(client, sue).post(
        url(acme, "ticket_create") + f"?contact={mei.pk}",
        {
            "subject": "Cross desk",
            "department": globex.department.pk,
            "priority": "medium",
            "contact": mei.pk,
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.for_org(globex.org).get(subject="Cross desk")
    assert ticket.contact.email == "mei@cust.test"
    assert not Ticket.objects.for_org(acme.org).exists()
    page = client.get(url(acme, "ticket", ticket.number))
    assert page.status_code == 200 and b"Cross desk" in page.content
    assert b'data-testid="reply-panel"' in page.content
    client.post(url(acme, "ticket_comment", ticket.number), {"comment-body": "from Sue"})
    client.post(
        url(acme, "ticket_update", ticket.number),
        {
            "fields-status": ticket.status_id,
            "fields-priority": "urgent",
            "fields-department": globex.department.pk,
        },
    )
    login(client, sam).post(url(acme, "ticket_comment", ticket.number), {"comment-body": "Sam"})
    assert client.post(url(acme, "ticket_close", ticket.number)).status_code == 403
    rows = Thread.objects.for_org(globex.org).filter(ticket=ticket).order_by("pk")
    assert list(rows.values_list("kind", "author_id")) == [
        ("comment", sue.user_id),
        ("comment", sam.user_id),
    ]
    assert Ticket.objects.for_org(globex.org).get(pk=ticket.pk).priority == "urgent"
