"""The UI speaks Japanese and English; the user's choice is stored on the user."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import login

ROOT = Path(__file__).resolve().parents[2]


def test_language_switch_is_stored_on_the_user(client, acme):
    login(client, acme.admin)
    response = client.post(reverse("set_language"), {"language": "ja", "next": "/acme/desk/"})
    assert response.status_code == 302 and response.url == "/acme/desk/"
    acme.admin.user.refresh_from_db()
    assert acme.admin.user.language == "ja"
    page = client.get("/acme/desk/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.headers["Content-Language"] == "ja"
    assert "デスク" in page.content.decode()
    assert "ログアウト" in page.content.decode()


def test_language_switch_refuses_foreign_redirects_and_unknown_languages(client, acme):
    login(client, acme.admin)
    response = client.post(
        reverse("set_language"), {"language": "ja", "next": "https://evil.example/"}
    )
    assert response.url == "/"
    client.post(reverse("set_language"), {"language": "xx"})
    acme.admin.user.refresh_from_db()
    assert acme.admin.user.language == "ja"


def test_anonymous_pages_follow_the_language_cookie(client, db):
    client.post(reverse("set_language"), {"language": "en"})
    assert "Log in" in client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    client.post(reverse("set_language"), {"language": "ja"})
    assert "ログイン" in client.get(reverse("login")).content.decode()


def test_japanese_catalogue_is_complete_and_compiled():
    po = polib.pofile(str(ROOT / "locale/ja/LC_MESSAGES/django.po"))
    missing = [e.msgid for e in po if not e.translated() and not e.obsolete]
    assert missing == []
    assert [e.msgid for e in po.fuzzy_entries()] == []
    mo = polib.mofile(str(ROOT / "locale/ja/LC_MESSAGES/django.mo"))
    compiled = {(e.msgctxt, e.msgid): e.msgstr for e in mo}
    stale = [
        e.msgid
        for e in po.translated_entries()
        if e.msgstr != compiled.get((e.msgctxt, e.msgid)) and not e.msgid_plural
    ]
    assert stale == [], "run: python manage.py compilemessages"


def test_every_string_of_the_code_is_in_the_catalogue(tmp_path):
    """makemessages on a copy of the sources finds no string missing from locale/ja."""
    if shutil.which("xgettext") is None:
        pytest.fail("GNU gettext is needed (bin/test installs it: apt-get install gettext)")
    apps = {name.split(".")[0] for name in settings.INSTALLED_APPS}
    folders = sorted(d.name for d in ROOT.iterdir() if d.name in apps and d.is_dir())
    for folder in (*folders, "templates", "locale"):
        shutil.copytree(
            ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "ja",
            "--no-obsolete",
            "--no-location",
            "-i",
            "tests/*",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
            "PYTHONPATH": str(tmp_path),
        },
    )
    fresh = {e.msgid for e in polib.pofile(str(tmp_path / "locale/ja/LC_MESSAGES/django.po"))}
    known = {e.msgid for e in polib.pofile(str(ROOT / "locale/ja/LC_MESSAGES/django.po"))}
    assert sorted(fresh - known) == []
