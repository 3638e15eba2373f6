"""TKT-05: the ticket's history in words: attachments by file name, the action as an action
(its own message context), every value under its field's label."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from helpdesk.tickets.history_display import action_label, history_rows, value_text
from helpdesk.tickets.models import TicketHistory
from helpdesk.tickets.services.threads import thread_add
from tests.conftest import login


def url(name: str, **kwargs) -> str:
    return reverse(f"desk:{name}", kwargs={"portal": "acme", **kwargs})


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _history_html(page: str) -> str:
    return page[page.index('id="history-title"') :]


def _panel(client, ticket) -> str:
    """The ticket page's history panel, as the page loads it (htmx) after it renders."""
    answer = client.get(url("ticket_history", number=ticket.number), HTTP_HX_REQUEST="true")
    return answer.content.decode()


def test_tkt05_attachments_show_by_file_name_not_as_a_list(client, desk):
    ticket = desk.ticket()
    thread_add(
        actor=desk.agent,
        ticket=ticket,
        kind="comment",
        body="logs",
        files=[
            SimpleUploadedFile("server.log", b"x"),
            SimpleUploadedFile("画面.png", b"\x89PNG"),
        ],
    )
    login(client, desk.agent)
    history = _history_html(_panel(client, ticket))
    assert "<dt>Attachments</dt>" in history
    assert "<ins>server.log, 画面.png</ins>" in history
    assert "[" not in history.split("<dt>Attachments</dt>")[1].split("</dd>")[0]


def test_tkt05_created_is_an_action_in_japanese_not_the_column_header(client, desk):
    """TKT-05: "Created" in the history's action column reads 作成, not 作成日時 (the column
    header that shares the English word)."""
    ticket = desk.ticket()
    desk.agent.user.language = "ja"
    desk.agent.user.save()
    login(client, desk.agent)
    page = _panel(client, ticket)
    history = _history_html(page)
    assert '<td data-testid="history-action">作成</td>' in history
    assert "作成日時" not in history
    with translation.override("ja"):
        assert action_label("created") == "作成" and action_label("reply") == "返信"


def test_tkt05_every_value_sits_under_its_field_label(client, desk):
    ticket = desk.ticket(priority="low")
    login(client, desk.admin)
    client.post(
        url("ticket_properties", number=ticket.number),
        {
            "status": ticket.status_id,
            "priority": "high",
            "owner": "",
            "channel": ticket.channel,
            "due_at": "",
        },
    )
    history = _history_html(_panel(client, ticket))
    assert "<dt>Priority</dt>" in history
    assert "<dd><del>Low</del> → <ins>High</ins></dd>" in history


def test_tkt05_values_read_as_words(desk):
    assert value_text("attachments", ["a.pdf", "b.png"]) == "a.pdf, b.png"
    assert value_text("priority", "urgent") == "Urgent"
    assert value_text("cf.vip", True) == "Yes"
    assert value_text("owner", None) == ""
    ticket = desk.ticket()
    rows = history_rows(TicketHistory.objects.for_org(desk.org).filter(ticket=ticket), [])
    assert rows[0].action == "Created"
    labels = [c.label for c in rows[0].changes]
    assert "Subject" in labels and "Description" not in labels  # empty at creation: omitted
