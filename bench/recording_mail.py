"""A mail backend that records when each message is handed to it, in Redis, for the SLA
benchmark and the real-worker tests (bench/sla.py, tests/sla/test_sweep_worker.py).

Each message becomes one entry of the Redis list `SLA_MAIL_RECORD_KEY`: JSON
`[handed-off time (epoch seconds), X-Madoguchi-Escalation header, recipient]`. With
`SLA_MAIL_DELAY_SECONDS` set, it first pushes `[time, "started", n]` to `<key>:started` and waits
that long before recording: a slow mail server, so that a test can kill the worker while a
mail task is between claiming and sending. Each message is built as the SMTP backend would
build it (`message.message()`), so the benchmark pays what real sending costs in Python."""

from __future__ import annotations

import json
import os
import time

import redis
from django.core.mail.backends.base import BaseEmailBackend


class RecordingBackend(BaseEmailBackend):
    _client: redis.Redis | None = None

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
        pipe = client.pipeline(transaction=False)
        for message in email_messages:
            header = message.extra_headers.get("X-Madoguchi-Escalation", "")
            for to in message.to:
                pipe.rpush(key, json.dumps([now, header, to]))
        pipe.execute()
        return len(email_messages)
