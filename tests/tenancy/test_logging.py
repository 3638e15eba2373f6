"""An ordinary 403 or 404 is one line in the log, not a traceback; a 500 keeps its traceback."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import login


def _request_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "django.request"]


def test_a_refused_page_logs_one_line_without_traceback(client, bob, caplog):
    login(client, bob)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/acme/setup/")
    assert response.status_code == 403
    [record] = _request_records(caplog)
    assert record.getMessage() == "Forbidden (Permission denied): /acme/setup/"
    assert record.exc_info is None
    assert "Traceback" not in caplog.text


def test_a_missing_page_logs_one_line_without_traceback(client, bob, caplog):
    login(client, bob)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/acme/desk/tickets/999/")
    assert response.status_code == 404
    [record] = _request_records(caplog)
    assert record.getMessage() == "Not Found: /acme/desk/tickets/999/"
    assert record.exc_info is None
    assert "Traceback" not in caplog.text


def test_a_server_error_keeps_its_traceback(client, acme, caplog, monkeypatch):
    from chat.views import common as chat_views

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    client.raise_request_exception = False
    login(client, acme.admin)
    monkeypatch.setattr(chat_views, "render", broken)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/acme/chat/")  # the Chat app's home renders through chat_views
    assert response.status_code == 500
    [record] = _request_records(caplog)
    assert record.exc_info is not None


pytestmark = pytest.mark.django_db
