"""Start a Celery worker of the project whose mail goes to bench/recording_mail.py (each hand-off
recorded in Redis with its time), for bench/sla.py and tests/sla/test_sweep_worker.py.

    DATABASE_URL=... REDIS_URL=... python bench/sla_worker.py --pool=solo

Environment: SLA_WORKER_QUEUE (the queue it consumes and publishes to; default "celery"),
SLA_MAIL_RECORD_KEY, SLA_MAIL_DELAY_SECONDS (see recording_mail.py), and the project's own
settings (SLA_CLAIM_TIMEOUT_SECONDS, SLA_SWEEP_BATCH ...). Extra arguments go to the worker."""

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

    app.worker_main(["worker", "--loglevel=WARNING", "-Q", queue, *sys.argv[1:]])


if __name__ == "__main__":
    main()
