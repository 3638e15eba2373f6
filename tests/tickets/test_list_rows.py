"""TKT-06: the list's rows are built in Python; what a person typed shows as typed."""

from __future__ import annotations

from django.utils.html import escape
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.tickets.services.tickets import TicketInput, ticket_create
from helpdesk.tickets.templatetags.ticket_list import esc
from tests.conftest import login


@given(st.text())
def test_tkt06_row_escape_matches_djangos_escape(text):
    assert esc(text) == escape(text)


def test_tkt06_list_rows_show_markup_in_a_subject_as_text(client, acme):
    ticket_create(
        actor=acme.admin,
        data=TicketInput(subject="<b>bold</b> & \"x\" 'y'", department=acme.department),
    )
    login(client, acme.admin)
    page = client.get(f"/{acme.org.portal}/desk/").content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;x&quot; &#x27;y&#x27;" in page
    assert "<b>bold</b>" not in page
