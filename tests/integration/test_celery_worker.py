"""A real Celery worker over Redis sends the invitation mail (ORG-06), and the beat schedule
names registered tasks."""

from __future__ import annotations

import os
import time

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.core import mail

from helpdesk.celery import app
from helpdesk.tenancy.services.members import member_invite
from tests.conftest import _signup


@pytest.fixture
def redis_worker(settings):
    url = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis://"):
        pytest.fail("This test needs Redis: set REDIS_URL (bin/test does when Redis answers).")
    redis.Redis.from_url(url).ping()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    old = {k: app.conf[k] for k in ("broker_url", "result_backend", "task_always_eager")}
    app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield
    app.conf.update(old)


@pytest.mark.django_db(transaction=True)
def test_org06_invitation_mail_is_sent_by_a_real_worker(redis_worker):
    tenant = _signup("Worker Co", "worker-co", "owner@worker.test")
    tenant.admin.org = tenant.org
    member_invite(actor=tenant.admin, email="new@worker.test", roles={"desk": "agent"})
    deadline = time.monotonic() + 20
    while not mail.outbox and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [m.to for m in mail.outbox] == [["new@worker.test"]]
    assert "/worker-co/invitation/" in mail.outbox[0].body


@pytest.mark.django_db(transaction=True)
def test_beat_task_runs_on_the_worker_and_returns_its_count(redis_worker):
    from helpdesk.tenancy.tasks import purge_stale_invitations_task

    assert purge_stale_invitations_task.delay().get(timeout=20) == 0


def test_beat_schedule_names_registered_tasks():
    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks
