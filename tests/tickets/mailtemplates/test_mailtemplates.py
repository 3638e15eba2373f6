"""Mail templates (BP-11 email notifications, BP-15 escalation mail): placeholders checked at
save, rendered in a sandbox that reaches only the values offered (raw in the text part,
escaped in the HTML part), a preview on the newest ticket or a sample, and the Setup pages
(delete refused while an after-action sends the template)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from helpdesk.tickets.mailtemplates import rendering, usage
from helpdesk.tickets.mailtemplates.models import MailTemplate
from helpdesk.tickets.mailtemplates.services import (
    mail_template_delete,
    mail_template_message,
    mail_template_preview,
    mail_template_save,
)
from helpdesk.tickets.services.tickets import TicketInput, ticket_update
from tests.conftest import login

pytestmark = pytest.mark.django_db


def _template(desk, **kwargs) -> MailTemplate:
    kwargs.setdefault("name", "Approved")
    kwargs.setdefault("subject", "[#{{ticket.number}}] {{ticket.subject}} is {{blueprint.state}}")
    kwargs.setdefault(
        "body", "Dear {{contact.name}},\n\nYour request is {{ticket.status}}.\n{{ticket.url}}"
    )
    return mail_template_save(actor=desk.admin, template=MailTemplate(org=desk.org, **kwargs))


# --- Validation and the sandbox -----------------------------------------------------------------
def test_bp11_unknown_placeholder_is_refused_at_save_naming_it(desk):
    with pytest.raises(ValidationError) as caught:
        _template(desk, body="Hi {{ticket.secret_field}} and {{settings.SECRET_KEY}}")
    text = " ".join(caught.value.messages)
    assert "{{ticket.secret_field}}" in text and "{{settings.SECRET_KEY}}" in text
    assert "{{ticket.subject}}" in text  # the known ones are listed
    assert not MailTemplate.objects.for_org(desk.org).exists()


def test_bp11_unclosed_placeholder_is_refused(desk):
    with pytest.raises(ValidationError):
        _template(desk, subject="Hi {{contact.name")


@pytest.mark.parametrize(
    "name",
    [
        "ticket.__class__",
        "ticket.org.mailbox.password",
        "ticket.contact.__dict__",
        "request.user",
        "ticket.subject|safe",
        "ticket.subject.upper",
        "{% debug %}",
    ],
)
def test_bp11_a_placeholder_reaches_only_the_values_offered(desk, name):
    """Names are looked up in a fixed dict: nothing else is reachable, and nothing is
    evaluated at send time either (a name that slipped past the save stays as written)."""
    with pytest.raises(ValidationError):
        rendering.validate_mail_placeholders("{{" + name + "}}")
    ticket = desk.ticket(subject="Boiler")
    values = rendering.ticket_values(ticket)
    out = rendering.render("{{" + name + "}}", "x {{" + name + "}} {% debug %}", values)
    assert out.text == "x {{" + name + "}} {% debug %}"
    assert "Boiler" not in out.text and "class" not in out.subject.replace(name, "")


def test_bp11_html_part_escapes_values_and_template_text_the_text_part_keeps_them(desk):
    ticket = desk.ticket(subject='<script>alert("x")</script> & co')
    template = _template(
        desk, subject="{{ticket.subject}}", body="<b>Bold?</b> {{ticket.subject}}\nline 2"
    )
    message = mail_template_message(template=template, ticket=ticket, to=["a@example.com"])
    html = message.alternatives[0][0]
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in html
    assert "&lt;b&gt;Bold?&lt;/b&gt;" in html and "<br>line 2" in html
    assert '<script>alert("x")</script> & co' in message.body  # text: as typed
    assert message.subject == '<script>alert("x")</script> & co'


def test_bp11_subject_is_one_line_whatever_the_values(desk):
    ticket = desk.ticket(subject="Boiler")
    out = rendering.render(
        "A {{contact.name}} B",
        "",
        {**rendering.ticket_values(ticket), "contact.name": "x\r\nBcc: y"},
    )
    assert "\n" not in out.subject and "\r" not in out.subject


def test_bp11_values_cover_ticket_contact_department_owner_state_and_link(desk):
    ticket = desk.ticket(subject="Boiler", owner=desk.agent.user)
    values = rendering.ticket_values(ticket, {"blueprint.name": "Returns", "evil": "x"})
    assert values["ticket.number"] == str(ticket.number)
    assert values["contact.name"] == "Yamada Taro"
    assert values["contact.email"] == "taro@umbrella.test"
    assert values["department.name"] == desk.department.name
    assert values["owner.name"] == "Bob" and values["owner.email"] == "bob@acme.test"
    assert values["blueprint.name"] == "Returns" and "evil" not in values
    assert values["blueprint.state"] == ticket.status.name
    assert values["ticket.url"].endswith(f"/acme/desk/tickets/{ticket.number}/")


# --- Preview -------------------------------------------------------------------------------------
def test_bp11_preview_uses_the_newest_ticket(desk):
    desk.ticket(subject="Older")
    newest = desk.ticket(subject="Newest <one>")
    preview, sample = mail_template_preview(
        org=desk.org, subject="{{ticket.subject}}", body="{{ticket.subject}}"
    )
    assert sample == newest
    assert preview.subject == "Newest <one>" and "Newest &lt;one&gt;" in preview.html


def test_bp11_preview_without_tickets_uses_the_sample(acme):
    preview, sample = mail_template_preview(
        org=acme.org, subject="{{ticket.subject}}", body="{{contact.name}}"
    )
    assert sample is None and preview.subject == "Printer on fire"
    assert "Yamada Taro" in preview.text


# --- Services: who, and delete while in use -----------------------------------------------------
def test_bp11_only_desk_admins_change_templates(desk):
    with pytest.raises(PermissionDenied):
        mail_template_save(
            actor=desk.agent, template=MailTemplate(org=desk.org, name="x", subject="s", body="b")
        )


def test_bp11_names_are_unique_per_organization(desk, globex):
    _template(desk, name="Approved")
    with pytest.raises(ValidationError):
        _template(desk, name="APPROVED")
    globex.admin.org = globex.org
    mail_template_save(
        actor=globex.admin,
        template=MailTemplate(org=globex.org, name="Approved", subject="s", body="b"),
    )


def test_bp11_delete_refused_while_in_use_with_the_count(desk):
    template = _template(desk)
    usage.register("test", lambda org_id, template_id: 2 if template_id == template.pk else 0)
    try:
        with pytest.raises(ValidationError) as caught:
            mail_template_delete(actor=desk.admin, template=template)
        assert "2 automated actions" in caught.value.messages[0]
        assert MailTemplate.objects.for_org(desk.org).filter(pk=template.pk).exists()
    finally:
        usage._COUNTERS.pop("test")
    mail_template_delete(actor=desk.admin, template=template)
    assert not MailTemplate.objects.for_org(desk.org).exists()


# --- Setup pages ---------------------------------------------------------------------------------
def test_bp11_setup_pages_create_edit_preview_and_delete(client, desk):
    login(client, desk.admin)
    base = reverse("mailtemplates:template_list", kwargs={"portal": "acme"})
    new = reverse("mailtemplates:template_create", kwargs={"portal": "acme"})
    page = client.get(new)
    assert page.status_code == 200 and b"{{ticket.subject}}" in page.content

    bad = client.post(new, {"name": "N", "subject": "{{nope}}", "body": "b"})
    assert bad.status_code == 400 and "Unknown placeholder" in bad.content.decode()
    assert not MailTemplate.objects.for_org(desk.org).exists()

    desk.ticket(subject="Sample <ticket>")
    shown = client.post(
        new, {"name": "N", "subject": "{{ticket.subject}}", "body": "x", "preview": "1"}
    )
    assert shown.status_code == 200 and "Sample &lt;ticket&gt;" in shown.content.decode()
    assert not MailTemplate.objects.for_org(desk.org).exists()  # a preview saves nothing

    saved = client.post(new, {"name": "N", "subject": "{{ticket.subject}}", "body": "x"})
    assert saved.status_code == 302 and saved["Location"] == base
    template = MailTemplate.objects.for_org(desk.org).get()
    listing = client.get(base).content.decode()
    assert "N" in listing and 'aria-current="page"' in listing and "Mail templates" in listing

    kwargs = {"portal": "acme", "mail_template_id": template.pk}
    preview = client.get(reverse("mailtemplates:template_preview", kwargs=kwargs))
    assert preview.status_code == 200 and "Sample &lt;ticket&gt;" in preview.content.decode()
    edit = client.post(
        reverse("mailtemplates:template_edit", kwargs=kwargs),
        {"name": "N2", "subject": "s", "body": "b"},
    )
    assert edit.status_code == 302
    template.refresh_from_db()
    assert template.name == "N2"

    usage.register("test", lambda org_id, template_id: 1)
    try:
        refused = client.post(reverse("mailtemplates:template_delete", kwargs=kwargs), follow=True)
        assert "used by 1 automated action" in refused.content.decode()
        assert MailTemplate.objects.for_org(desk.org).exists()
    finally:
        usage._COUNTERS.pop("test")
    client.post(reverse("mailtemplates:template_delete", kwargs=kwargs))
    assert not MailTemplate.objects.for_org(desk.org).exists()


def test_bp11_agents_cannot_open_the_setup_pages(client, desk):
    login(client, desk.agent)
    response = client.get(reverse("mailtemplates:template_list", kwargs={"portal": "acme"}))
    assert response.status_code in (403, 404)


def test_bp11_other_organizations_templates_are_not_found(client, desk, globex):
    other = MailTemplate.objects.create(org=globex.org, name="G", subject="s", body="b")
    login(client, desk.admin)
    kwargs = {"portal": "acme", "mail_template_id": other.pk}
    assert client.get(reverse("mailtemplates:template_edit", kwargs=kwargs)).status_code == 404
    client.post(reverse("mailtemplates:template_delete", kwargs=kwargs))
    assert MailTemplate.objects.filter(pk=other.pk).exists()


def test_bp11_status_change_shows_in_the_rendered_state(desk):
    ticket = desk.ticket(subject="Boiler")
    closed = desk.status("Closed")
    ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(status=closed))
    assert rendering.ticket_values(ticket)["blueprint.state"] == "Closed"
