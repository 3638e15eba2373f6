"""Incoming-mail fixtures: Acme's support address on its default department, a second
department with its own address, attachments stored under a temporary folder, and `feed`,
which hands a corpus file (or bytes) to the one service."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpdesk.tenancy.models import Department
from helpdesk.tickets.html import html_to_text
from helpdesk.tickets.mailin.services import IngestResult, ingest
from tests.factories import DepartmentFactory

CORPUS = Path(__file__).parent / "corpus"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def visible_text(body: str) -> str:
    """What the page shows at first: the body without the folded <details> history."""
    return html_to_text(re.sub(r"(?s)<details>.*?</details>", "", body))


def folded_text(body: str) -> str:
    """What the folded history holds (shown when the reader opens it)."""
    return " ".join(html_to_text(m) for m in re.findall(r"(?s)<details>(.*?)</details>", body))


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def support(acme) -> Department:
    department = acme.department
    department.email = "support@acme.test"
    department.save(update_fields=["email"])
    return department


@pytest.fixture
def sales(acme) -> Department:
    return DepartmentFactory(org=acme.org, name="Sales", email="sales@acme.test")


@pytest.fixture
def feed(acme, support):
    def feed(name_or_raw: str | bytes, **kwargs) -> IngestResult:
        raw = corpus(name_or_raw) if isinstance(name_or_raw, str) else name_or_raw
        kwargs.setdefault("source", "command")
        return ingest(acme.org, raw, **kwargs)

    return feed
