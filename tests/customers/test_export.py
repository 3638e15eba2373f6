"""Export of contacts and accounts to CSV (CUS-01, issue 13 item 8): UTF-8 with BOM or
Shift_JIS, the list's search and filters, account names, owner emails, tags and custom
fields, cells neutralised against formula injection, streamed with a fixed number of
queries, and never another organization's records."""

from __future__ import annotations

import codecs
import csv
import io

from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Contact, CustomerField
from customers.services import account_set_tags, contact_set_tags
from tests.conftest import login
from tests.factories import UserFactory

from .factories import AccountFactory, ContactFactory


def url(name: str, tenant, **kwargs) -> str:
    return reverse(f"customers:{name}", kwargs={"portal": tenant.org.portal, **kwargs})


def download(client, address: str) -> tuple[StreamingHttpResponse, bytes]:
    response = client.get(address)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    return response, b"".join(response.streaming_content)


def rows_of(data: bytes, encoding: str = "utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


def test_cus01_contacts_export_utf8_with_bom_and_every_column(alice_client, acme, bob):
    CustomerField.objects.create(
        org=acme.org, module="contact", label="Member since", key="member_since", type="date"
    )
    CustomerField.objects.create(
        org=acme.org, module="contact", label="Newsletter", key="newsletter", type="checkbox"
    )
    account = AccountFactory(org=acme.org, name="株式会社テスト")
    contact = ContactFactory(
        org=acme.org,
        last_name="髙橋",
        first_name="﨑子",
        email="sakiko@kaisha.jp",
        secondary_email="s@home.jp",
        phone="03-1234-5678",
        mobile="090-0000-0000",
        title="部長",
        account=account,
        owner=bob.user,
        description="複数行\nの説明",
        custom_fields={"member_since": "2024-04-01", "newsletter": True},
    )
    contact_set_tags(actor=acme.admin, contact=contact, names=["重要", "vip"])
    response, data = download(alice_client, url("contact_export", acme))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    assert data.startswith(codecs.BOM_UTF8)
    assert b"\r\n" in data
    header, row = rows_of(data)
    assert header == [
        "Last name",
        "First name",
        "Email",
        "Secondary email",
        "Phone",
        "Mobile",
        "Title",
        "Account",
        "Owner email",
        "Tags",
        "Description",
        "Member since",
        "Newsletter",
        "Created",
        "Updated",
    ]
    assert row[:13] == [
        "髙橋",
        "﨑子",
        "sakiko@kaisha.jp",
        "s@home.jp",
        "03-1234-5678",
        "090-0000-0000",
        "部長",
        "株式会社テスト",
        "bob@acme.test",
        "vip, 重要",
        "複数行\nの説明",
        "2024-04-01",
        "yes",
    ]


def test_cus01_contacts_export_in_shift_jis_with_japanese_headers(client, acme):
    acme.admin.user.language = "ja"
    acme.admin.user.save()
    ContactFactory(org=acme.org, last_name="山田", first_name="太郎", email="taro@x.jp")
    login(client, acme.admin)
    response, data = download(client, url("contact_export", acme) + "?encoding=shift_jis")
    assert response["Content-Type"] == "text/csv; charset=Shift_JIS"
    assert not data.startswith(codecs.BOM_UTF8)
    header, row = rows_of(data, "cp932")
    assert header[:5] == ["姓", "名", "メール", "サブメール", "電話"]
    assert row[:3] == ["山田", "太郎", "taro@x.jp"]


def test_cus01_export_follows_the_lists_search_and_filters(alice_client, acme, bob):
    kaisha = AccountFactory(org=acme.org, name="Kaisha KK")
    sato = ContactFactory(org=acme.org, last_name="Sato", email="sato@x.jp", account=kaisha)
    ContactFactory(org=acme.org, last_name="Suzuki", email="suzuki@x.jp", owner=bob.user)
    ContactFactory(org=acme.org, last_name="Tanaka", email="tanaka@x.jp")
    contact_set_tags(actor=acme.admin, contact=sato, names=["vip"])

    def names(query: str) -> list[str]:
        _response, data = download(alice_client, url("contact_export", acme) + query)
        return [row[0] for row in rows_of(data)[1:]]

    assert names("") == ["Sato", "Suzuki", "Tanaka"]
    assert names("?q=su") == ["Suzuki"]
    assert names("?tag=VIP") == ["Sato"]
    assert names(f"?owner={bob.user.pk}") == ["Suzuki"]
    assert names(f"?account={kaisha.pk}") == ["Sato"]


def test_cus01_export_neutralises_formula_injection(alice_client, acme):
    ContactFactory(
        org=acme.org,
        last_name='=HYPERLINK("http://evil.test","click")',
        first_name="+SUM(1,2)",
        email="x@x.jp",
        phone="-1",
        title="@cmd",
        description="\tTabbed",
    )
    AccountFactory(org=acme.org, name="=1+1", phone="+81 3 1234 5678")
    _response, data = download(alice_client, url("contact_export", acme))
    row = rows_of(data)[1]
    assert row[0] == '\'=HYPERLINK("http://evil.test","click")'
    assert row[1] == "'+SUM(1,2)"
    assert (row[4], row[6], row[10]) == ("'-1", "'@cmd", "'\tTabbed")
    _response, data = download(alice_client, url("account_export", acme))
    header, row = rows_of(data)
    assert header[:2] == ["Account name", "Website"]
    assert (row[0], row[2]) == ("'=1+1", "'+81 3 1234 5678")


def test_cus01_accounts_export_with_tags_owner_and_contact_count(alice_client, acme, bob):
    kaisha = AccountFactory(org=acme.org, name="Kaisha KK", owner=bob.user)
    account_set_tags(actor=acme.admin, account=kaisha, names=["大口"])
    ContactFactory.create_batch(2, org=acme.org, account=kaisha)
    _response, data = download(alice_client, url("account_export", acme) + "?q=kaisha")
    header, row = rows_of(data)
    assert header[-3:] == ["Contacts", "Created", "Updated"]
    assert row[:7] == ["Kaisha KK", "", "", "", "bob@acme.test", "大口", ""]
    assert row[7] == "2"


def test_cus01_export_never_includes_another_organizations_records(alice_client, acme, globex):
    ContactFactory(org=acme.org, last_name="Ours", email="ours@x.jp")
    ContactFactory(org=globex.org, last_name="Theirs", email="theirs@x.jp")
    AccountFactory(org=globex.org, name="Their account")
    _response, data = download(alice_client, url("contact_export", acme))
    assert [row[0] for row in rows_of(data)[1:]] == ["Ours"]
    _response, data = download(alice_client, url("account_export", acme))
    assert rows_of(data)[1:] == []
    # Globex's portal is 404 for Alice.
    other = reverse("customers:contact_export", kwargs={"portal": globex.org.portal})
    assert alice_client.get(other).status_code == 404


def test_cus01_export_reads_a_fixed_number_of_queries_whatever_the_rows(alice_client, acme, bob):
    account = AccountFactory(org=acme.org)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            download(alice_client, url("contact_export", acme))
        return len(captured)

    for n in range(5):
        contact = ContactFactory(org=acme.org, account=account, owner=bob.user)
        contact_set_tags(actor=acme.admin, contact=contact, names=[f"t{n}"])
    small = queries()
    for n in range(40):
        contact = ContactFactory(org=acme.org, account=account, owner=bob.user)
        contact_set_tags(actor=acme.admin, contact=contact, names=[f"u{n}"])
    assert queries() == small
    assert Contact.objects.for_org(acme.org).count() == 45


def test_cus01_members_who_may_view_may_export_and_see_the_buttons(client, acme):
    restricted = acme.member(user=UserFactory(full_name="Rita"), desk_role="restricted")
    login(client, restricted)
    page = client.get(url("contacts", acme)).content.decode()
    assert 'action="' + url("contact_export", acme) + '"' in page
    assert url("import", acme) not in page
    assert client.get(url("account_export", acme)).status_code == 200
