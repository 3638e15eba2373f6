# ruff: noqa: F811 - the fixtures are imported by name
"""Nothing is lost when a worker dies between claiming and sending (BP-15, issue 11 item 5):
a real Celery worker process (bench/sla_worker.py, whose mail backend records each hand-off in
Redis) claims an escalation and is killed with SIGKILL while its mail task is sending; a second
worker's sweep claims it again after the claim timeout and the mail goes out exactly once."""

from __future__ import annotations

import json
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

from helpdesk.celery import app
from sla.models import ClockDue, EscalationFired
from tests.sla.sweep_fixtures import Desk, desk, escalations, past  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
CLAIM_TIMEOUT = 3


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


def _worker(queue: str, key: str, *, delay: float) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": _redis_url(),
        "CELERY_BROKER_URL": _redis_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SLA_WORKER_QUEUE": queue,
        "SLA_MAIL_RECORD_KEY": key,
        "SLA_MAIL_DELAY_SECONDS": str(delay),
        "SLA_CLAIM_TIMEOUT_SECONDS": str(CLAIM_TIMEOUT),
        "DB_POOL_MAX": "0",
    }
    return subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(ROOT / "bench" / "sla_worker.py"), "--pool=solo"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def broker(settings):
    """The test process publishes to Redis (it runs no worker itself)."""
    url = _redis_url()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    old = {k: app.conf[k] for k in ("broker_url", "result_backend", "task_always_eager")}
    app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    client = redis.Redis.from_url(url)
    queue, key = f"sla-test-{uuid.uuid4().hex}", f"sla:test:mail:{uuid.uuid4().hex}"
    workers: list[subprocess.Popen] = []
    yield client, queue, key, workers
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    client.delete(queue, key, key + ":started")
    app.conf.update(old)


@pytest.mark.django_db(transaction=True)
def test_bp15_worker_killed_after_claiming_then_the_retry_mails_exactly_once(
    desk, escalations, broker
):
    from sla.tasks import sla_sweep_task

    client, queue, key, workers = broker
    escalations.level(1)
    ticket = desk.ticket(owner=desk.agent.user)
    clock = escalations.plant(ticket, due_at=past())

    # Worker 1: claims, fires, and is killed while its mail task sends (a slow mail server).
    first = _worker(queue, key, delay=60)
    workers.append(first)
    sla_sweep_task.apply_async(queue=queue)
    _wait(lambda: client.llen(key + ":started") > 0, 60, "the first worker's mail task")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    due = ClockDue.objects.get(clock=clock)
    assert due.claimed_at is not None and due.fired_at is None
    ledger = EscalationFired.objects.get(clock=clock)
    assert ledger.mail_sent_at is None
    assert client.llen(key) == 0  # nothing was handed to the mail server

    # Worker 2: sweeps until the claim times out, claims it again and sends once.
    second = _worker(queue, key, delay=0)
    workers.append(second)

    def mailed() -> bool:
        sla_sweep_task.apply_async(queue=queue)
        return client.llen(key) > 0

    _wait(mailed, 60, "the mail after the claim timed out")
    time.sleep(CLAIM_TIMEOUT + 1)  # more sweeps: none may send it again
    sla_sweep_task.apply_async(queue=queue)
    time.sleep(2)
    records = [json.loads(r) for r in client.lrange(key, 0, -1)]
    assert [(r[1], r[2]) for r in records] == [(f"{ticket.pk}:{clock.pk}:1:1", "bob@acme.test")]
    ledger.refresh_from_db()
    due.refresh_from_db()
    assert ledger.mail_sent_at is not None and due.fired_at is not None
    assert EscalationFired.objects.filter(clock=clock).count() == 1


@pytest.mark.django_db(transaction=True)
def test_bp15_a_backlog_recruits_another_sweeper_at_most_once_a_second(
    desk, escalations, broker, settings
):
    """A sweep that claims a full batch queues one more sweep (so that the worker's other
    processes sweep beside it, issue 11's rate), at most one a second; a batch that is not
    full queues none."""
    from sla import sweep as sla_sweep

    client, queue, _key, _workers = broker
    settings.SLA_SWEEP_BATCH = 2
    escalations.level(1)
    for _ in range(5):
        escalations.plant(desk.ticket(owner=desk.agent.user), due_at=past())
    late = desk.ticket(owner=desk.agent.user)

    def sweeps_queued() -> int:
        tasks = [json.loads(m)["headers"]["task"] for m in client.lrange(queue, 0, -1)]
        return tasks.count("sla.tasks.sla_sweep_task")

    old_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue  # the tasks queued from here on: the sweep's
    try:
        started = time.time()
        result = sla_sweep.sweep(wake=False)
        seconds = int(time.time()) - int(started) + 1
        assert (result.fired, result.claimed) == (5, 5)  # batches of 2, 2 and 1
        assert 1 <= sweeps_queued() <= min(2, seconds)  # two full batches, one a second
        client.delete(queue)
        escalations.plant(late, due_at=past())
        assert sla_sweep.sweep(wake=False).claimed == 1
        assert sweeps_queued() == 0  # a batch that is not full: no backlog
    finally:
        app.conf.task_default_queue = old_queue
