"""Start a Celery worker of the project whose mail goes to bench/recording_mail.py (each hand-off
recorded in Redis with its time), for bench/sla.py and tests/sla/test_sweep_worker.py.

    DATABASE_URL=... REDIS_URL=... python bench/sla_worker.py --pool=solo
    DATABASE_URL=... REDIS_URL=... python bench/sla_worker.py beat -s /tmp/schedule

Environment: SLA_WORKER_QUEUE (the queue it consumes and publishes to; default "celery"),
SLA_MAIL_RECORD_KEY, SLA_MAIL_DELAY_SECONDS (see recording_mail.py), and the project's own
settings (SLA_CLAIM_TIMEOUT_SECONDS, SLA_SWEEP_BATCH ...). Extra arguments go to the worker.
With `beat` first, it runs Celery beat instead, publishing to the same queue (so that a
benchmark on its own queue shares nothing with other workers on the same Redis database)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")


def main() -> None:
    import django

    import helpdesk.settings as project

    project.EMAIL_BACKEND = "recording_mail.RecordingBackend"
    queue = os.environ.get("SLA_WORKER_QUEUE", "celery")
    project.CELERY_TASK_DEFAULT_QUEUE = queue
    django.setup()
    from helpdesk.celery import app

    args = sys.argv[1:]
    if args[:1] == ["beat"]:
        app.start(["beat", "--loglevel=WARNING", *args[1:]])
        return
    app.worker_main(["worker", "--loglevel=WARNING", "-Q", queue, *args])


if __name__ == "__main__":
    main()
