"""The ticket page's history rows built in Python (`history_table_rows`) read exactly as the
template loop they replace rendered them (TKT-05): the same cells, values escaped the same
way, long values cut at 80 characters, in the reader's time zone and language."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from helpdesk.tenancy.models import User
from helpdesk.tickets.history_display import Change, HistoryRow
from helpdesk.tickets.models import TicketHistory
from helpdesk.tickets.templatetags.ticket_page import history_table_rows

# The template loop of templates/tickets/_history.html before the rows were built in Python.
TEMPLATE_ROWS = """{% for row in history %}
      <tr data-action="{{ row.entry.action }}">
        <td><time datetime="{{ row.entry.created_at|date:'c' }}">{{ row.entry.created_at|date:"Y-m-d H:i:s" }}</time></td>
        <td>{% if row.rule %}{% blocktranslate with name=row.rule %}Rule: {{ name }}{% endblocktranslate %}{% else %}{{ row.entry.actor.display_name|default:"—" }}{% endif %}</td>
        <td data-testid="history-action">{{ row.action }}</td>
        <td>{% if row.changes %}<dl class="changes">{% for change in row.changes %}
          <div class="change"><dt>{{ change.label }}</dt>
            <dd>{% if change.before %}<del>{{ change.before|truncatechars:80 }}</del> → {% endif %}{% if change.after %}<ins>{{ change.after|truncatechars:80 }}</ins>{% elif change.before %}<span class="muted">{% translate "(removed)" %}</span>{% else %}—{% endif %}</dd></div>
        {% endfor %}</dl>{% endif %}</td>
        <td>{{ row.entry.ip_address|default:"—" }}</td>
      </tr>
    {% endfor %}"""  # noqa: E501 - the template as it was


def _squeeze(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


def _rows() -> list[HistoryRow]:
    at = dt.datetime(2026, 3, 29, 0, 30, 15, 123456, tzinfo=dt.UTC)  # DST changes that night
    person = User(full_name='Ann <b>"O\'Neil"</b> & co', email="ann@example.com")
    nameless = User(full_name="", email="x@example.com")
    long = "長い説明 " * 30 + "<script>alert(1)</script>"
    return [
        HistoryRow(
            entry=TicketHistory(
                action="updated", created_at=at, actor=person, ip_address="203.0.113.5"
            ),
            action="Updated",
            changes=[
                Change(label="Subject", before="Printer <on> fire", after="Printer & scanner"),
                Change(label="Description", before=long, after=long[:80]),
                Change(label="Owner", before="Bob", after=""),
                Change(label="Due", before="", after=""),
                Change(label="優先度", before="", after="高"),
            ],
        ),
        HistoryRow(
            entry=TicketHistory(action="rule", created_at=at + dt.timedelta(hours=2)),
            action="Changed by a rule",
            changes=[],
            rule="Escalate <VIP> & 'others'",
        ),
        HistoryRow(
            entry=TicketHistory(action='x"><img>', created_at=at, actor=nameless),
            action="x <img> action",
            changes=[],
        ),
        HistoryRow(
            entry=TicketHistory(action="created", created_at=at), action="Created", changes=[]
        ),
    ]


@pytest.mark.parametrize("language,zone", [("en", "Europe/London"), ("ja", "Asia/Tokyo")])
def test_tkt05_history_rows_built_in_python_read_as_the_template_did(language, zone):
    rows = _rows()
    with translation.override(language), timezone.override(zone):
        expected = Template("{% load i18n %}" + TEMPLATE_ROWS).render(Context({"history": rows}))
        built = history_table_rows(rows)
    assert _squeeze(built) == _squeeze(expected)
    assert "<script>" not in built and "&lt;script&gt;" not in built  # cut before it
    assert "&lt;b&gt;" in built and "<img>" not in built
