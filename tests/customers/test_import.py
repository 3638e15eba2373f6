"""Import of contacts and accounts from CSV (CUS-01, issue 13 item 8): the preview with
per-row errors, no partial import, encodings (UTF-8, UTF-8 with BOM, Shift_JIS, CRLF),
English and Japanese headers, update by email, accounts by name, tags, custom fields,
history, the background job with its progress bar (a real Celery worker), permissions and
other organizations' jobs.

Alice is Acme's account admin, Bob an agent at Acme, Charlie (Globex) the outsider."""

from __future__ import annotations

import codecs
import csv
import html
import io
import os
import re
import time

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.imports import parsing
from customers.imports.models import ImportJob, ImportStatus
from customers.imports.services import import_write, read_file
from customers.models import Account, Contact, CustomerField, CustomerHistory
from helpdesk.celery import app
from tests.conftest import _signup, login
from tests.factories import UserFactory

from .factories import AccountFactory, ContactFactory


# --- Helpers ---------------------------------------------------------------------------------
def url(name: str, tenant, **kwargs) -> str:
    org = getattr(tenant, "org", tenant)
    return reverse(f"customers:{name}", kwargs={"portal": org.portal, **kwargs})


def text(response) -> str:
    return html.unescape(response.content.decode())


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8", newline: str = "\r\n") -> bytes:
    """A CSV file as a spreadsheet writes it (cells quoted when needed)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=newline).writerows(rows)
    body = buffer.getvalue()
    if encoding == "utf-8-sig":
        return codecs.BOM_UTF8 + body.encode("utf-8")
    return body.encode(encoding)


def upload(client, tenant, data: bytes, kind: str = "contacts", name: str = "people.csv"):
    return client.post(
        url("import", tenant), {"kind": kind, "file": SimpleUploadedFile(name, data, "text/csv")}
    )


def error_rows(response) -> list[tuple[str, str, str]]:
    """(row, column, message) of the error table."""
    found = re.findall(
        r'<tr data-error-row="(\d+)"><td>\d+</td><td>(.*?)</td><td>(.*?)</td></tr>',
        response.content.decode(),
    )
    return [(row, html.unescape(col), html.unescape(msg)) for row, col, msg in found]


def confirm(client, tenant, job: ImportJob):
    return client.post(url("import_confirm", tenant, import_job_id=job.pk))


def people(org) -> list[tuple]:
    return sorted(
        Contact.objects.for_org(org).values_list(
            "last_name", "first_name", "email", "phone", "account__name", "owner__email"
        )
    )


HEADER = ["Last name", "First name", "Email", "Phone", "Account", "Owner email"]


@pytest.fixture
def restricted(acme):
    return acme.member(user=UserFactory(full_name="Rita Restricted"), desk_role="restricted")


# --- Preview and errors ----------------------------------------------------------------------
def test_cus01_preview_lists_each_bad_row_with_its_number_and_column_and_writes_nothing(
    alice_client, acme, bob
):
    data = csv_bytes(
        [
            HEADER,
            ["Sato", "Ken", "ken@kaisha.jp", "03-1111-2222", "Kaisha KK", "bob@acme.test"],
            ["Suzuki", "Aoi", "not-an-email", "", "", ""],
            ["", "Nameless", "nameless@kaisha.jp", "", "", ""],
            ["Tanaka", "Yui", "yui@kaisha.jp", "", "", "nobody@acme.test"],
        ]
    )
    response = upload(alice_client, acme, data)
    assert response.status_code == 400
    assert error_rows(response) == [
        ("3", "Email", "“not-an-email” is not a valid email address."),
        ("4", "Last name", "The last name is missing."),
        (
            "5",
            "Owner email",
            "No active member with Desk access has the email “nobody@acme.test”. Give an "
            "owner's email, or leave the cell blank.",
        ),
    ]
    assert "3 errors: nothing has been imported" in text(response)
    assert "Import 4 rows" not in text(response)  # no confirmation offered
    assert Contact.objects.for_org(acme.org).count() == 0
    assert Account.objects.for_org(acme.org).count() == 0
    assert ImportJob.objects.for_org(acme.org).count() == 0


def test_cus01_preview_shows_first_rows_mapped_unknown_columns_and_new_accounts(alice_client, acme):
    AccountFactory(org=acme.org, name="Kaisha KK")
    data = csv_bytes(
        [
            ["姓", "名", "メール", "電話", "会社名", "Favourite colour"],
            ["佐藤", "健", "ken@kaisha.jp", "03-1111-2222", "kaisha kk", "blue"],
            ["鈴木", "葵", "aoi@shin.jp", "", "新会社", "red"],
        ],
        "utf-8-sig",
    )
    response = upload(alice_client, acme, data)
    assert response.status_code == 200
    page = text(response)
    assert "Favourite colour" in page and "not recognised" in page
    assert "1 account will be created:" in page and "新会社" in page
    assert "2 new contacts" in page
    assert "<td>佐藤</td><td>健</td><td>ken@kaisha.jp</td>" in page
    assert "UTF-8 with BOM" in page
    job = ImportJob.objects.for_org(acme.org).get()
    assert (job.status, job.total, job.encoding) == (ImportStatus.PREVIEWED, 2, "utf-8-sig")
    assert job.file.name.startswith(f"org/{acme.org.pk}/customer-imports/")
    assert Contact.objects.for_org(acme.org).count() == 0  # nothing until confirmed

    response = confirm(alice_client, acme, job)
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.created_count, job.accounts_created) == (ImportStatus.DONE, 2, 1)
    assert not job.file  # the upload is deleted after the job
    assert people(acme.org) == [
        ("佐藤", "健", "ken@kaisha.jp", "03-1111-2222", "Kaisha KK", None),
        ("鈴木", "葵", "aoi@shin.jp", "", "新会社", None),
    ]
    summary = text(alice_client.get(response.url))
    assert "2 records created" in summary and "1 account created" in summary


def test_cus01_one_bad_row_among_good_ones_imports_nothing(acme):
    rows = [HEADER] + [
        [f"Person{n}", "Pat", f"p{n}@example.com", "", "New Co", ""] for n in range(50)
    ]
    rows.insert(27, ["Broken", "Row", "broken@", "", "", ""])
    sheet = read_file(acme.org, "contacts", csv_bytes(rows))
    plan, outcome = import_write(actor=acme.admin, kind="contacts", sheet=sheet)
    assert outcome is None
    assert [(e.row, e.column) for e in plan.errors] == [(28, "Email")]
    assert Contact.objects.for_org(acme.org).count() == 0
    assert Account.objects.for_org(acme.org).count() == 0


def test_cus01_a_row_that_became_wrong_after_the_preview_fails_the_job_and_writes_nothing(
    alice_client, acme, bob
):
    data = csv_bytes(
        [HEADER]
        + [["Sato", "Ken", "ken@kaisha.jp", "", "", "bob@acme.test"]]
        + [[f"P{n}", "", f"p{n}@x.jp", "", "", ""] for n in range(3)]
    )
    assert upload(alice_client, acme, data).status_code == 200
    job = ImportJob.objects.for_org(acme.org).get()
    bob.status = "disabled"
    bob.save()
    confirm(alice_client, acme, job)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.errors[0]["row"] == 2 and job.errors[0]["column"] == "Owner email"
    assert Contact.objects.for_org(acme.org).count() == 0
    page = text(alice_client.get(url("import_job", acme, import_job_id=job.pk)))
    assert "1 row has errors; nothing was written." in page


def test_cus01_duplicate_emails_in_one_file_are_refused(acme):
    rows = [HEADER, ["A", "", "same@x.jp", "", "", ""], ["B", "", "SAME@x.jp", "", "", ""]]
    sheet = read_file(acme.org, "contacts", csv_bytes(rows))
    plan, outcome = import_write(actor=acme.admin, kind="contacts", sheet=sheet)
    assert outcome is None
    assert [(e.row, e.column, e.message) for e in plan.errors] == [
        (3, "Email", "same@x.jp is also on row 2: one row per contact.")
    ]


def test_cus01_file_errors_unreadable_or_without_last_name_column(alice_client, acme):
    response = upload(alice_client, acme, "\ufeff".encode("utf-16"))
    assert response.status_code == 400 and "UTF-16" in text(response)
    response = upload(alice_client, acme, csv_bytes([["Email"], ["a@x.jp"]]))
    assert response.status_code == 400
    assert "The file has no last-name column" in text(response)
    response = upload(alice_client, acme, csv_bytes([["Last name", "Email"], ["A", "a@x.jp", "x"]]))
    assert response.status_code == 400
    assert "Row 2 has more cells than the header row has columns." in text(response)


# --- Encodings and headers -------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["cp932", "utf-8-sig", "utf-8"])
def test_cus01_japanese_files_in_shift_jis_bom_and_plain_utf8_with_crlf(
    alice_client, acme, encoding
):
    data = csv_bytes(
        [
            ["姓", "名", "メールアドレス", "電話番号", "会社名", "役職", "備考"],
            ["髙橋", "﨑子", "sakiko@kaisha.jp", "03-1234-5678", "株式会社テスト", "部長", "①番"],
            ["山田", "太郎", "taro@kaisha.jp", "", "株式会社テスト", "", ""],
        ],
        encoding,
    )
    response = upload(alice_client, acme, data)
    assert response.status_code == 200, error_rows(response)
    confirm(alice_client, acme, ImportJob.objects.for_org(acme.org).get())
    assert people(acme.org) == [
        ("山田", "太郎", "taro@kaisha.jp", "", "株式会社テスト", None),
        ("髙橋", "﨑子", "sakiko@kaisha.jp", "03-1234-5678", "株式会社テスト", None),
    ]
    takahashi = Contact.objects.for_org(acme.org).get(email="sakiko@kaisha.jp")
    assert (takahashi.title, takahashi.description) == ("部長", "①番")
    assert Account.objects.for_org(acme.org).count() == 1


def test_cus01_decode_detects_bom_utf8_and_cp932():
    assert parsing.decode(codecs.BOM_UTF8 + "姓".encode()) == ("姓", "utf-8-sig")
    assert parsing.decode("姓".encode()) == ("姓", "utf-8")
    assert parsing.decode("姓".encode("cp932")) == ("姓", "cp932")


def test_cus01_a_single_name_column_is_split_family_name_first(acme):
    rows = [["氏名", "メール"], ["佐藤　健", "ken@x.jp"], ["Smith", "s@x.jp"]]
    sheet = read_file(acme.org, "contacts", csv_bytes(rows))
    _plan, outcome = import_write(actor=acme.admin, kind="contacts", sheet=sheet)
    assert outcome is not None
    assert sorted(Contact.objects.for_org(acme.org).values_list("last_name", "first_name")) == [
        ("Smith", ""),
        ("佐藤", "健"),
    ]


# --- Matching ----------------------------------------------------------------------------------
def test_cus01_a_row_with_a_known_email_updates_that_contact_blank_cells_keep_values(acme, bob):
    account = AccountFactory(org=acme.org, name="Kaisha KK")
    hanako = ContactFactory(
        org=acme.org,
        last_name="Tanaka",
        first_name="Hanako",
        email="hanako@example.com",
        phone="03-0000-0000",
        title="Buyer",
        account=account,
    )
    rows = [
        ["Last name", "First name", "Email", "Phone", "Title", "Owner email"],
        ["", "", "HANAKO@Example.com", "03-9999-9999", "", "bob@acme.test"],
        ["New", "Person", "new@example.com", "", "", ""],
    ]
    sheet = read_file(acme.org, "contacts", csv_bytes(rows))
    plan, outcome = import_write(actor=acme.admin, kind="contacts", sheet=sheet)
    assert (outcome.created, outcome.updated) == (1, 1)
    hanako.refresh_from_db()
    assert (hanako.last_name, hanako.first_name, hanako.phone, hanako.title) == (
        "Tanaka",
        "Hanako",
        "03-9999-9999",
        "Buyer",
    )
    assert (hanako.owner_id, hanako.account_id) == (bob.user.pk, account.pk)
    assert Contact.objects.for_org(acme.org).count() == 2


def test_cus01_accounts_import_matches_names_case_insensitively(alice_client, acme, bob):
    kaisha = AccountFactory(org=acme.org, name="Kaisha KK", phone="03-1")
    data = csv_bytes(
        [
            ["会社名", "ウェブサイト", "電話", "担当者メール", "タグ"],
            ["KAISHA kk", "kaisha.example.jp", "03-2", "bob@acme.test", "vip、大口"],
            ["新規株式会社", "", "", "", ""],
        ],
        "cp932",
    )
    response = upload(alice_client, acme, data, kind="accounts")
    assert response.status_code == 200, error_rows(response)
    assert "1 new account" in text(response) and "1 existing account updated" in text(response)
    confirm(alice_client, acme, ImportJob.objects.for_org(acme.org).get())
    kaisha.refresh_from_db()
    assert (kaisha.name, kaisha.phone, kaisha.website, kaisha.owner_id) == (
        "KAISHA kk",
        "03-2",
        "https://kaisha.example.jp",
        bob.user.pk,
    )
    assert kaisha.tag_list == ["vip", "大口"]
    assert sorted(Account.objects.for_org(acme.org).values_list("name", flat=True)) == [
        "KAISHA kk",
        "新規株式会社",
    ]


def test_cus01_tags_custom_fields_and_history_of_imported_contacts(acme):
    CustomerField.objects.create(
        org=acme.org, module="contact", label="Member since", key="member_since", type="date"
    )
    CustomerField.objects.create(
        org=acme.org, module="contact", label="Newsletter", key="newsletter", type="checkbox"
    )
    existing = ContactFactory(org=acme.org, email="old@x.jp", last_name="Old")
    rows = [
        ["Last name", "Email", "Tags", "Member since", "cf:newsletter"],
        ["New", "new@x.jp", "vip, Tokyo, VIP", "2024-04-01", "yes"],
        ["", "old@x.jp", "renewal", "", "no"],
        ["Bad", "bad@x.jp", "", "April", ""],
    ]
    sheet = read_file(acme.org, "contacts", csv_bytes(rows))
    plan, outcome = import_write(actor=acme.admin, kind="contacts", sheet=sheet)
    assert outcome is None
    assert [(e.row, e.column, e.message) for e in plan.errors] == [
        (4, "Member since", "Enter a date as YYYY-MM-DD.")
    ]
    del rows[3]
    sheet = read_file(acme.org, "contacts", csv_bytes(rows))
    _plan, outcome = import_write(actor=acme.admin, kind="contacts", sheet=sheet, ip="10.0.0.9")
    assert (outcome.created, outcome.updated) == (1, 1)
    new = Contact.objects.for_org(acme.org).get(email="new@x.jp")
    existing.refresh_from_db()
    assert new.tag_list == ["Tokyo", "vip"]
    assert new.custom_fields == {"member_since": "2024-04-01", "newsletter": True}
    assert existing.tag_list == ["renewal"]
    assert existing.custom_fields == {"newsletter": False}
    entries = CustomerHistory.objects.for_org(acme.org).filter(action="imported")
    assert sorted(entries.values_list("record_id", "actor_id", "ip_address")) == sorted(
        [(new.pk, acme.admin.user.pk, "10.0.0.9"), (existing.pk, acme.admin.user.pk, "10.0.0.9")]
    )


def test_cus01_export_then_import_gives_the_same_records(alice_client, acme, bob):
    """Round trip in both encodings: export, delete, import the file again."""
    account = AccountFactory(org=acme.org, name="株式会社テスト")
    ContactFactory(
        org=acme.org,
        last_name="髙橋",
        first_name="﨑子",
        email="sakiko@kaisha.jp",
        phone="+81 3-1234-5678",
        account=account,
        owner=bob.user,
        description="=SUM(A1:A2) と書く",
    )
    ContactFactory(org=acme.org, last_name="Smith", first_name="Jo", email="jo@x.com")
    from customers.services import contact_set_tags

    contact_set_tags(
        actor=acme.admin,
        contact=Contact.objects.for_org(acme.org).get(last_name="髙橋"),
        names=["重要", "vip"],
    )
    fields = ("last_name", "first_name", "email", "phone", "account__name", "owner__email")
    fields += ("description",)

    def state():
        contacts = Contact.objects.for_org(acme.org).order_by("email")
        return [
            (*c, x.tag_list) for c, x in zip(contacts.values_list(*fields), contacts, strict=True)
        ]

    before = state()
    for encoding in ("shift_jis", "utf-8"):
        response = alice_client.get(url("contact_export", acme) + f"?encoding={encoding}")
        data = b"".join(response.streaming_content)
        Contact.objects.for_org(acme.org).delete()
        response = upload(alice_client, acme, data)
        assert response.status_code == 200, error_rows(response)
        confirm(alice_client, acme, ImportJob.objects.for_org(acme.org).get(status="previewed"))
        assert state() == before


# --- The background job ------------------------------------------------------------------------
def test_cus01_large_file_is_queued_and_its_page_polls_with_a_progress_bar(
    alice_client, acme, settings, django_capture_on_commit_callbacks
):
    settings.CUSTOMER_IMPORT_ASYNC_ROWS = 10
    rows = [HEADER] + [[f"P{n}", "", f"p{n}@x.jp", "", "", ""] for n in range(25)]
    assert upload(alice_client, acme, csv_bytes(rows)).status_code == 200
    job = ImportJob.objects.for_org(acme.org).get()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = confirm(alice_client, acme, job)
    assert len(callbacks) == 1  # the task is sent on commit
    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED
    fragment = alice_client.get(response.url, HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert 'hx-trigger="every 1s"' in body and "<progress" in body and "0 of 25 rows" in body
    callbacks[0]()  # the task, run eagerly
    job.refresh_from_db()
    assert (job.status, job.done, job.created_count) == (ImportStatus.DONE, 25, 25)
    body = alice_client.get(response.url, HTTP_HX_REQUEST="true").content.decode()
    assert "every 1s" not in body and 'value="25"' in body and "25 records created" in body


@pytest.fixture
def redis_worker(settings):
    url_ = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL", "")
    if not url_.startswith("redis://"):
        pytest.fail("This test needs Redis: set REDIS_URL (bin/test does when Redis answers).")
    redis.Redis.from_url(url_).ping()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    old = {k: app.conf[k] for k in ("broker_url", "result_backend", "task_always_eager")}
    app.conf.update(broker_url=url_, result_backend=url_, task_always_eager=False)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield
    app.conf.update(old)


@pytest.mark.django_db(transaction=True)
def test_cus01_large_import_runs_on_a_real_celery_worker(redis_worker, client, settings):
    settings.CUSTOMER_IMPORT_ASYNC_ROWS = 100
    tenant = _signup("Import Co", "import-co", "owner@import.test")
    login(client, tenant.admin)
    rows = [HEADER] + [
        [f"山田{n}", "太郎", f"taro{n}@import.test", "", f"会社{n % 7}", ""] for n in range(1500)
    ]
    assert upload(client, tenant, csv_bytes(rows, "cp932")).status_code == 200
    job = ImportJob.objects.for_org(tenant.org).get()
    response = confirm(client, tenant, job)
    assert response.status_code == 302
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.finished:
            break
        time.sleep(0.2)
    assert (job.status, job.created_count, job.accounts_created) == (ImportStatus.DONE, 1500, 7)
    assert Contact.objects.for_org(tenant.org).count() == 1500
    assert not job.file
    assert "1,500 records created" in text(client.get(response.url)) or "1500 records created" in (
        text(client.get(response.url))
    )


# --- Permissions and other organizations -------------------------------------------------------
def test_cus01_restricted_agents_cannot_import_but_may_export(client, acme, restricted):
    login(client, restricted)
    assert client.get(url("import", acme)).status_code == 403
    data = csv_bytes([HEADER, ["A", "", "a@x.jp", "", "", ""]])
    assert upload(client, acme, data).status_code == 403
    assert Contact.objects.for_org(acme.org).count() == 0
    assert client.get(url("contact_export", acme)).status_code == 200
    assert 'href="' + url("import", acme) not in text(client.get(url("contacts", acme)))


def test_cus01_members_without_desk_cannot_export(client, acme):
    crm = acme.member(user=UserFactory(full_name="Carl Crm"), desk_role="", crm_role="sales")
    login(client, crm)
    assert client.get(url("contact_export", acme)).status_code == 403
    assert client.get(url("account_export", acme)).status_code == 403


def test_cus01_agents_may_import(client, acme, bob):
    login(client, bob)
    assert (
        upload(client, acme, csv_bytes([HEADER, ["A", "", "a@x.jp", "", "", ""]])).status_code
        == 200
    )
    confirm(client, acme, ImportJob.objects.for_org(acme.org).get())
    assert Contact.objects.for_org(acme.org).count() == 1


def test_cus01_another_organizations_or_members_job_is_404(alice_client, acme, globex, bob, client):
    theirs = ImportJob.objects.create(
        org=globex.org,
        kind="contacts",
        file_name="g.csv",
        encoding="utf-8",
        requested_by=globex.admin.user,
        total=1,
    )
    assert alice_client.get(url("import_job", acme, import_job_id=theirs.pk)).status_code == 404
    assert (
        alice_client.post(url("import_confirm", acme, import_job_id=theirs.pk)).status_code == 404
    )
    theirs.refresh_from_db()
    assert theirs.status == ImportStatus.PREVIEWED
    alices = ImportJob.objects.create(
        org=acme.org,
        kind="contacts",
        file_name="a.csv",
        encoding="utf-8",
        requested_by=acme.admin.user,
        total=1,
    )
    bob_client = login(client, bob)
    assert bob_client.get(url("import_job", acme, import_job_id=alices.pk)).status_code == 404
    assert bob_client.post(url("import_confirm", acme, import_job_id=alices.pk)).status_code == 404


def test_cus01_a_job_whose_file_is_gone_fails_with_a_message_not_an_error(alice_client, acme):
    job = ImportJob.objects.create(
        org=acme.org,
        kind="contacts",
        file_name="gone.csv",
        encoding="utf-8",
        requested_by=acme.admin.user,
        total=1,
    )
    response = confirm(alice_client, acme, job)
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.error) == (
        ImportStatus.FAILED,
        "The uploaded file is no longer there: upload it again.",
    )
    # Confirming twice is refused with a message.
    response = confirm(alice_client, acme, job)
    assert response.status_code == 400
    assert "already been confirmed" in text(response)


def test_cus01_import_page_lists_the_columns_in_english_and_japanese(alice_client, acme):
    response = alice_client.get(url("import", acme) + "?kind=accounts")
    assert response.status_code == 200
    page = text(response)
    assert 'type="file"' in page and re.search(r'value="accounts"[^>]* checked', page)
    for header in ("Last name", "姓", "メール", "電話", "会社名", "Owner email", "担当者メール"):
        assert f">{header}<" in page


def test_cus01_a_job_left_running_by_a_dead_worker_is_claimed_again_later(acme):
    from datetime import timedelta

    from django.utils import timezone

    from customers.imports.services import import_run

    job = ImportJob.objects.create(
        org=acme.org,
        kind="contacts",
        file_name="x.csv",
        encoding="utf-8",
        requested_by=acme.admin.user,
        status=ImportStatus.RUNNING,
        total=1,
    )
    assert import_run(org_id=acme.org.pk, job_id=job.pk) is None  # another worker has it
    ImportJob.objects.for_org(acme.org).filter(pk=job.pk).update(
        updated_at=timezone.now() - timedelta(hours=1)
    )
    job = import_run(org_id=acme.org.pk, job_id=job.pk)
    assert job is not None and job.status == ImportStatus.FAILED  # its file is gone
