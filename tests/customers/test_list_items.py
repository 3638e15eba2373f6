"""The contact and account pages' list panel, built in Python (customers.pages.list_items):
each item links to its record keeping the search and the open tab, shows what the template
showed, and shows what a person typed as typed (CUS-02)."""

from __future__ import annotations

from types import SimpleNamespace

from django.utils import translation

from customers.pages.list_items import list_items

HOSTILE = "<b>\"Tanaka\" & 'Co'</b>"
ESCAPED = "&lt;b&gt;&quot;Tanaka&quot; &amp; &#x27;Co&#x27;&lt;/b&gt;"


def _contact(pk, **over):
    values = {
        "pk": pk,
        "name": HOSTILE,
        "email": "",
        "phone": "",
        "mobile": "090-1",
        "owner": None,
        "tag_list": [],
    }
    values.update(over)
    return SimpleNamespace(**values)


def test_cus02_contact_items_link_with_the_search_and_tab_and_mark_the_current_one():
    owner = SimpleNamespace(display_name="Sue <S>")
    records = [_contact(7), _contact(8, email="a@x.test", owner=owner, tag_list=["vip", "<t>"])]
    with translation.override("en"):
        html = list_items(
            records,
            kind="contact",
            portal="acme",
            keep="q=ta&owner=me",
            tab="tickets",
            current_pk=8,
        )
    first, second = html.split("\n")
    url = "/acme/customers/contacts/7/?q=ta&amp;owner=me&amp;tab=tickets"
    assert f'<a href="{url}" hx-get="{url}" hx-target="#record-area"' in first
    assert f'<span class="record-item-name">{ESCAPED}</span>' in first
    assert '<small class="muted">—</small><small class="muted">090-1</small>' in first
    assert "aria-current" not in first and "Owner" not in first and "badge" not in first
    assert 'data-record="8" aria-current="true" class="current"' in second
    assert '<small class="muted">Owner: Sue &lt;S&gt;</small>' in second
    assert '<span class="badge">vip</span> <span class="badge">&lt;t&gt;</span>' in second


def test_cus02_account_items_count_their_contacts_in_japanese():
    records = [
        SimpleNamespace(
            pk=3, name="Kaisha", contact_count=1, phone="03-1", owner=None, tag_list=[]
        ),
        SimpleNamespace(pk=4, name="Two", contact_count=2, phone="", owner=None, tag_list=[]),
    ]
    with translation.override("en"):
        english = list_items(
            records, kind="account", portal="acme", keep="", tab="overview", current_pk=0
        )
    assert 'href="/acme/customers/accounts/3/?tab=overview"' in english
    assert '<small class="muted">1 contact · 03-1</small>' in english
    assert '<small class="muted">2 contacts</small>' in english
    with translation.override("ja"):
        japanese = list_items(
            records, kind="account", portal="acme", keep="", tab="overview", current_pk=0
        )
    assert '<small class="muted">1件の連絡先 · 03-1</small>' in japanese
    assert '<small class="muted">2件の連絡先</small>' in japanese
