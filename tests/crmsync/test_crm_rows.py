"""The CRM lists' and a record's desk tickets' rows, built in Python (crmsync.templatetags.
crm_rows): what a person typed shows as typed, escaped, and every cell the templates had is
still there (CRM-01, CRM-09, CRM-12)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.template import Context
from django.utils import translation

from crmsync.record_ticket_selectors import TicketRow
from crmsync.templatetags.crm_rows import (
    crm_account_rows,
    crm_contact_rows,
    crm_deal_rows,
    crm_ticket_rows,
)

HOSTILE = "<script>alert(\"x\")</script> & 'q'"
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27;"


def _contact(**over):
    row = {
        "pk": 7,
        "url": "/p/crm/contacts/7/",
        "name": HOSTILE,
        "title": "",
        "email": "a@example.com",
        "secondary_email": "",
        "phone": "",
        "mobile": "090-1",
        "account_id": None,
        "account_name": None,
        "account_url": "",
        "owner": "",
    }
    row.update(over)
    return row


def test_crm01_contact_rows_escape_what_was_typed_and_dash_what_is_empty():
    html = crm_contact_rows(
        [
            _contact(),
            _contact(
                pk=8,
                title=HOSTILE,
                account_id=3,
                account_name="Acme & Co",
                account_url="/p/crm/accounts/3/",
                secondary_email="b@example.com",
                phone="03-1",
                owner="Owner <o>",
            ),
        ]
    )
    first, second = html.split("\n")
    assert ESCAPED in first and "<script>" not in html
    assert '<tr data-contact="7"><td><a href="/p/crm/contacts/7/">' in first
    assert "<td>090-1</td>" in first  # no phone: the mobile
    assert first.count("<td>—</td>") == 2  # no account, no owner
    assert f'<small class="muted">{ESCAPED}</small>' in second
    assert '<a href="/p/crm/accounts/3/">Acme &amp; Co</a>' in second
    assert '<small class="muted">b@example.com</small>' in second
    assert "<td>03-1</td>" in second and "<td>Owner &lt;o&gt;</td>" in second


def test_crm01_account_rows_show_type_industry_phone_owner_and_open_deals():
    row = {
        "pk": 3,
        "url": "/p/crm/accounts/3/",
        "name": HOSTILE,
        "type_label": "Customer",
        "industry": "",
        "phone": "03",
        "owner": "Sales",
        "open_deals": 0,
    }
    html = crm_account_rows([row])
    assert html == (
        f'<tr data-account="3"><td><a href="/p/crm/accounts/3/">{ESCAPED}</a></td>'
        "<td>Customer</td><td>—</td><td>03</td><td>Sales</td><td>0</td></tr>"
    )


def test_crm01_deal_rows_format_the_amount_in_the_active_language():
    row = {
        "pk": 5,
        "url": "/p/crm/deals/5/",
        "name": "Renewal",
        "account_id": None,
        "account_name": None,
        "account_url": "",
        "stage_label": HOSTILE,
        "amount": Decimal("1234567.5"),
        "expected_close": dt.date(2026, 12, 24),
        "owner": "",
    }
    with translation.override("en"):
        html = crm_deal_rows([row, {**row, "pk": 6, "amount": None, "expected_close": None}])
    first, second = html.split("\n")
    assert f'<span class="badge">{ESCAPED}</span>' in first
    assert '<td class="num">1,234,567.50</td>' in first
    assert "<td>2026-12-24</td>" in first
    assert '<td class="num">—</td>' in second and second.count("<td>—</td>") == 3


def _ticket(**over):
    values = {
        "number": 42,
        "subject": HOSTILE,
        "status": "Open",
        "status_kind": "open",
        "priority": "high",
        "priority_label": "High",
        "owner": "",
        "due_at": dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC),
        "created_at": dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC),
        "overdue": True,
        "url": "/p/crm/tickets/42/",
        "unlink_url": "/p/crm/deals/5/tickets/42/unlink/",
    }
    values.update(over)
    return TicketRow(**values)


def test_crm12_deal_ticket_rows_post_unlink_with_the_csrf_token_and_mark_overdue():
    context = Context({"csrf_token": "tok<en>"})
    with translation.override("en"):
        html = crm_ticket_rows(context, [_ticket()], False, True, "/p/crm/deals/5/?a=1&b=2")
    assert f'<a href="/p/crm/tickets/42/">{ESCAPED}</a>' in html
    assert '<a href="/p/crm/tickets/42/">#42</a>' in html
    assert '<td class="danger-text" data-overdue="1">' in html
    assert '<form method="post" action="/p/crm/deals/5/tickets/42/unlink/">' in html
    assert 'name="csrfmiddlewaretoken" value="tok&lt;en&gt;"' in html
    assert 'name="next" value="/p/crm/deals/5/?a=1&amp;b=2"' in html
    assert 'aria-label="Unlink ticket #42 from this deal">Unlink</button>' in html
    assert 'type="checkbox"' not in html
    assert '<span class="priority-high">High</span>' in html


def test_crm12_record_ticket_rows_offer_a_labelled_checkbox_in_japanese():
    context = Context({"csrf_token": "t"})
    row = _ticket(overdue=False, due_at=None, url="")
    with translation.override("ja"):
        html = crm_ticket_rows(context, [row], True, False, "/back/")
    assert 'name="tickets" value="42" id="crm-ticket-42"' in html
    assert 'aria-label="問い合わせ #42 を選択"' in html
    assert "<td>#42</td>" in html and f"<td>{ESCAPED}</td>" in html  # no CRM page: no link
    assert "<td>—</td><td>—</td>" in html  # no owner, no due
    assert "<form" not in html
