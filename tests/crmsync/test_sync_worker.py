"""CRM-04: a worker killed mid-delivery loses nothing. A real Celery worker process takes the
delivery of a CRM edit and is killed with SIGKILL while applying it (CRMSYNC_APPLY_DELAY_SECONDS
holds it there); its transaction dies with it, so neither the desk nor the outbox row changed.
The sweep's read still finds the row undelivered, and a second worker delivers it exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.db import connection

from crmsync.connector import outbox_pending
from crmsync.models import CrmContact, Integration, OutboxEntry, SyncLink
from crmsync.services import integration as svc
from crmsync.services import records as crm
from crmsync.tasks import deliver_task
from customers.models import Contact, CustomerHistory
from helpdesk.celery import app

ROOT = Path(__file__).resolve().parents[2]


def _redis_url() -> str:
    url = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis://"):
        pytest.fail("This test needs Redis: set REDIS_URL (bin/test does when Redis answers).")
    return url


def _database_url() -> str:
    params = connection.settings_dict
    user = params["USER"] or "postgres"
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    host, port = params["HOST"] or "127.0.0.1", params["PORT"] or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"


def _worker(queue: str, *, delay: float) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": _redis_url(),
        "CELERY_BROKER_URL": _redis_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CRMSYNC_APPLY_DELAY_SECONDS": str(delay),
        "DB_POOL_MAX": "0",
    }
    command = [sys.executable, "-m", "celery", "-A", "helpdesk.celery", "worker"]
    return subprocess.Popen(  # noqa: S603 - our own worker
        [*command, "-Q", queue, "--pool=solo", "--loglevel=WARNING"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _delivering() -> bool:
    """A worker's connection holds the delivery's lock and is inside its transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()"
            " AND a.pid <> pg_backend_pid() AND a.state = 'idle in transaction'"
        )
        return cursor.fetchone()[0] > 0


@pytest.fixture
def broker(settings):
    url = _redis_url()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    old = {k: app.conf[k] for k in ("broker_url", "result_backend", "task_always_eager")}
    app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    queue = f"crmsync-test-{uuid.uuid4().hex}"
    workers: list[subprocess.Popen] = []
    yield queue, workers
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    redis.Redis.from_url(url).delete(queue)
    app.conf.update(old)


@pytest.mark.django_db(transaction=True)
def test_crm04_a_worker_killed_mid_delivery_loses_nothing(acme, cora, broker):
    queue, workers = broker
    integration = svc.integration_connect_own(actor=cora)
    integration = svc.integration_options(
        actor=cora,
        integration=integration,
        direction=Integration.Direction.TWO_WAY,
        match_secondary_email=False,
        product_department_ids=[],
    )
    integration = svc.integration_transition(actor=cora, integration=integration, action="enable")
    contact = crm.contact_save(
        actor=cora, contact=CrmContact(org=acme.org, last_name="Mori", email="mori@cust.test")
    )
    # The link, delivered in this process (eagerly, no worker involved).
    app.conf.task_always_eager = True
    deliver_task(acme.org.pk, integration.pk)
    app.conf.task_always_eager = False
    twin_id = SyncLink.objects.for_org(acme.org).get().desk_id

    contact.title = "Sales director"
    crm.contact_save(actor=cora, contact=contact)
    row = OutboxEntry.objects.for_org(acme.org).get(delivered_at=None)

    first = _worker(queue, delay=60)
    workers.append(first)
    deliver_task.apply_async((acme.org.pk, integration.pk), queue=queue)
    _wait(_delivering, 60, "the first worker to be applying the change")
    time.sleep(0.5)
    first.send_signal(signal.SIGKILL)
    first.wait(10)

    # Its transaction died with it: the desk did not change and the row is still pending.
    twin = Contact.objects.for_org(acme.org).get(pk=twin_id)
    assert twin.title == ""
    row.refresh_from_db()
    assert row.delivered_at is None
    assert (acme.org.pk, integration.pk) in outbox_pending()  # what the sweep re-enqueues

    second = _worker(queue, delay=0)
    workers.append(second)
    deliver_task.apply_async((acme.org.pk, integration.pk), queue=queue)
    _wait(lambda: OutboxEntry.objects.get(pk=row.pk).delivered_at is not None, 60, "delivery")

    twin.refresh_from_db()
    assert twin.title == "Sales director"
    updates = CustomerHistory.objects.for_org(acme.org).filter(
        kind="contact", record_id=twin_id, action="updated"
    )
    assert [u.changes for u in updates] == [{"title": [None, "Sales director"]}]
    # Once more (a redelivered message): nothing changes.
    deliver_task.apply_async((acme.org.pk, integration.pk), queue=queue).get(timeout=30)
    assert updates.count() == 1
