"""A mail backend that records when each message is handed to it, in Redis, for the SLA
benchmark and the real-worker tests (bench/sla.py, tests/sla/test_sweep_worker.py).

Each message becomes one entry of the Redis list `SLA_MAIL_RECORD_KEY`: JSON
`[handed-off time (epoch seconds), X-Madoguchi-Escalation header, recipient]`. With
`SLA_MAIL_DELAY_SECONDS` set, it first pushes `[time, "started", n]` to `<key>:started` and waits
that long before recording: a slow mail server, so that a test can kill the worker while a
mail task is between claiming and sending. Each message is built as the SMTP backend would
build it (`message.message()`), so the benchmark pays what real sending costs in Python.

The entries are kept in memory, each with the time its message was handed over, and pushed to
Redis when the connection closes (the sweep opens one per batch of up to 500 escalations): one
round trip per batch instead of one per message, so that what the benchmark measures is the
sweep, not its recorder. With a delay set they are pushed at once (a test kills the worker
between hand-offs and must find every message handed over before)."""

from __future__ import annotations

import json
import os
import time

import redis
from django.core.mail.backends.base import BaseEmailBackend


class RecordingBackend(BaseEmailBackend):
    _client: redis.Redis | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pending: list[str] = []

    @classmethod
    def client(cls) -> redis.Redis:
        if cls._client is None:
            cls._client = redis.Redis.from_url(os.environ["REDIS_URL"])
        return cls._client

    def send_messages(self, email_messages) -> int:
        key = os.environ.get("SLA_MAIL_RECORD_KEY", "sla:mail:record")
        delay = float(os.environ.get("SLA_MAIL_DELAY_SECONDS", "0") or 0)
        client = self.client()
        if delay:
            started = json.dumps([time.time(), "started", len(email_messages)])
            client.rpush(key + ":started", started)
            time.sleep(delay)
        for message in email_messages:
            message.message()  # the MIME message, as the SMTP backend builds it before sending
        now = time.time()
        for message in email_messages:
            header = message.extra_headers.get("X-Madoguchi-Escalation", "")
            self.pending += [json.dumps([now, header, to]) for to in message.to]
        if delay:
            self.close()
        return len(email_messages)

    def close(self) -> None:
        if self.pending:
            key = os.environ.get("SLA_MAIL_RECORD_KEY", "sla:mail:record")
            self.client().rpush(key, *self.pending)
            self.pending = []
