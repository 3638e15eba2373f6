"""Celery application: configured from Django settings (namespace CELERY_).

Every task runs inside a row-level-security scope (helpdesk/tenancy/rls.py): the organization
of its `org_id` argument, or none for a task without one (which then sees no tenant rows and
reads across organizations only through helpdesk/tenancy/crosstenant.py).
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")


class ScopedTask(Task):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from helpdesk.tenancy.rls import tenant_scope

        with tenant_scope(self._org_id(args, kwargs)):
            return super().__call__(*args, **kwargs)

    def _org_id(self, args: tuple, kwargs: dict) -> int | None:
        try:
            bound = inspect.signature(self.run).bind_partial(*args, **kwargs)
        except TypeError:
            return None  # Celery reports the bad call itself
        org_id = bound.arguments.get("org_id")
        return int(org_id) if org_id is not None else None


app = Celery("helpdesk", task_cls=ScopedTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
