"""The Celery application. Tasks are tenant-aware: the sender's schema travels in the task headers."""

import os

from celery.signals import task_prerun
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")

app = CeleryApp("saas")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _sentry_tag_task_tenant(**_kwargs: object) -> None:
    """Runs after tenant-schemas-celery switched schemas: tag Sentry events with the task's tenant.

    The apps clear their own per-task memos on the same signal (their AppConfig.ready()), so this module,
    at the bottom of the import layers, names none of them."""
    from saas.cache_versions import versions_memo_clear
    from saas.sentry import sentry_tag_tenant
    from tenants.runtime import current_schema

    versions_memo_clear()
    sentry_tag_tenant(current_schema())
