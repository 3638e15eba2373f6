"""TKT-08: Setup → Help center (Desk administrators): enabled, title, logo (validated image,
served by a view), primary colour (validated hex, applied through a CSS custom property in a
nonce'd style with a readable text colour), published departments, public fields, account
visibility. The pages are the organization's, in Japanese and English."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.tickets.helpcenter.models import HelpCenterSettings
from helpdesk.tickets.helpcenter.theme import AA, contrast, theme_for
from helpdesk.tickets.models import CustomField
from tests.conftest import login

pytestmark = pytest.mark.django_db
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _form(desk, **overrides):
    data = {
        "enabled": "on",
        "title": "Acme Support",
        "intro": "We answer within a day.",
        "primary_color": "#ffd700",
        "departments": [str(desk.department.pk)],
        "rating_mail": "on",
    }
    data.update(overrides)
    return data


def test_tkt08_admin_sets_up_the_help_center(client, desk):
    field = CustomField.objects.create(
        org=desk.org, department=desk.department, label="Order", key="order", type="text"
    )
    login(client, desk.admin)
    assert client.get("/acme/setup/helpcenter/").status_code == 200
    response = client.post(
        "/acme/setup/helpcenter/",
        _form(
            desk,
            public_fields=[str(field.pk)],
            show_account_tickets="on",
            logo=SimpleUploadedFile("logo.png", PNG),
        ),
    )
    assert response.status_code == 302
    row = HelpCenterSettings.objects.for_org(desk.org).get()
    assert row.enabled and row.title == "Acme Support" and row.primary_color == "#ffd700"
    assert row.department_ids == [desk.department.pk] and row.public_field_ids == [field.pk]
    assert row.show_account_tickets and row.logo_type == "image/png"
    assert row.logo.name.startswith(f"org/{desk.org.pk}/helpcenter/")
    client.logout()
    page = client.get("/acme/help/")
    content = page.content.decode()
    assert "Acme Support" in content and "We answer within a day." in content
    # The colour: custom properties in a stylesheet of ours; no inline style anywhere.
    assert " style=" not in content and "<style" not in content
    theme_url = re.search(r'<link rel="stylesheet" href="(/acme/help/theme\.css\?v=\d+)">', content)
    css = client.get(theme_url.group(1))
    assert css["Content-Type"].startswith("text/css")
    assert "--hc-primary:#ffd700;" in css.content.decode()
    # Gold is light: the text on it is dark, and links on white are darkened to AA.
    theme = theme_for("#ffd700", "#0f766e")
    assert theme.on_primary == "#000000" and contrast(theme.primary, theme.on_primary) >= AA
    assert contrast(theme.link, "#ffffff") >= AA
    logo = client.get(page.context["logo_url"])
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png"
    assert b"".join(logo.streaming_content) == PNG


def test_tkt08_settings_errors_say_what_to_fix(client, desk, globex):
    login(client, desk.admin)
    bad = client.post(
        "/acme/setup/helpcenter/",
        _form(
            desk,
            primary_color="red; }",
            departments=[str(globex.department.pk)],
            logo=SimpleUploadedFile("logo.svg", b"<svg onload=alert(1)></svg>"),
        ),
    )
    assert bad.status_code == 400
    content = bad.content.decode()
    assert "Enter a colour as # and six hex digits" in content
    assert "Select a valid choice." in content  # another organization's department
    assert not HelpCenterSettings.objects.for_org(desk.org).exists()
    bad = client.post(
        "/acme/setup/helpcenter/",
        _form(desk, logo=SimpleUploadedFile("logo.png", b"<svg onload=alert(1)></svg>")),
    )
    assert bad.status_code == 400
    assert "Upload a PNG, JPEG, GIF or WebP image." in bad.content.decode()
    big = SimpleUploadedFile("logo.png", PNG + b"\0" * 600_000)
    bad = client.post("/acme/setup/helpcenter/", _form(desk, logo=big))
    assert "The logo is too large" in bad.content.decode()
    bad = client.post("/acme/setup/helpcenter/", _form(desk, departments=[]))
    assert "Publish at least one department" in bad.content.decode()
    assert not HelpCenterSettings.objects.for_org(desk.org).exists()


def test_tkt08_only_desk_admins_change_the_settings(client, desk):
    login(client, desk.agent)
    assert client.get("/acme/setup/helpcenter/").status_code == 403
    assert client.post("/acme/setup/helpcenter/", _form(desk)).status_code == 403
    assert not HelpCenterSettings.objects.for_org(desk.org).exists()


def test_tkt08_pages_in_japanese_and_english(client, desk):
    from .conftest import open_help_center

    open_help_center(desk.org, [desk.department])
    english = client.get("/acme/help/signin/")
    assert b"Sign in" in english.content and b'lang="en"' in english.content
    client.post("/language/", {"language": "ja", "next": "/acme/help/signin/"})
    japanese = client.get("/acme/help/signin/")
    assert b'lang="ja"' in japanese.content
    assert "サインイン" in japanese.content.decode()
