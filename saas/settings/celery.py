"""Celery on Redis. Tasks carry the tenant schema (tenant-schemas-celery) and run inside it."""

from saas import env
from saas.settings.cache import REDIS_URL

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.CELERY_TASK_ALWAYS_EAGER
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# A worker process killed in the middle of a task (OOM killer, SIGKILL) puts the task back on the queue
# instead of recording a failure: tasks are idempotent, so running it again takes effect once
# (tests/faults/test_worker_faults.py).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A lost broker means waiting and reconnecting for as long as it takes, not exiting (issue 26); tasks in
# flight are acknowledged late, so they run again after the reconnection.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# A task a worker had taken when it lost Redis (or died with its main process) stays in Redis' list of
# unacknowledged messages and is handed out again after this many seconds (kombu's default is an hour).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.CELERY_VISIBILITY_TIMEOUT}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "automation-tick": {
        "task": "automation.tick_all_task",
        "schedule": 60,
    },
    "purge-expired-login-handovers": {
        "task": "tenants.tasks.login_handovers_purge_task",
        "schedule": 60 * 60,
    },
    "refill-tenant-pool": {
        "task": "tenants.tasks.tenant_pool_fill_task",
        "schedule": 60,
    },
    "send-scheduled-reports": {
        "task": "reports.schedules_run_all_task",
        "schedule": 60,
    },
    # Recently-viewed marks wait in Redis and are written in batches (crm_apps/engine/recent_views.py).
    "flush-recent-views": {
        "task": "engine.recent_views_flush_task",
        "schedule": 60,
    },
    # OAuth apps' usage counters wait in Redis (marketplace/apps/usage.py).
    "flush-app-usage": {
        "task": "marketplace_apps.usage_flush_task",
        "schedule": 60 * 10,
    },
    "purge-recycle-bins": {
        "task": "engine.records_purge_all_task",
        "schedule": 60 * 60 * 6,
    },
    "sweep-document-files": {
        "task": "documents.files_sweep_all_task",
        "schedule": 60 * 60 * 6,
    },
    "purge-expired-audit-events": {
        "task": "audit.events_purge_all_task",
        "schedule": 60 * 60 * 24,
    },
    "sync-billing-seats": {
        "task": "billing.seats_sync_all_task",
        "schedule": 60 * 15,
    },
    "billing-dunning": {
        "task": "billing.dunning_run_task",
        "schedule": 60 * 15,
    },
    "retry-stripe-events": {
        "task": "billing.stripe_events_retry_task",
        "schedule": 60 * 5,
    },
    "recurring-invoices": {
        "task": "invoices.recurring_generate_all_task",
        "schedule": 60 * 60,
    },
    "tickets-sla": {
        "task": "tickets.sla_escalate_all_task",
        "schedule": 60 * 5,
    },
    "service-contracts-expiry": {
        "task": "tickets.contracts_expiry_all_task",
        "schedule": 60 * 60 * 24,
    },
    "invoices-overdue": {
        "task": "invoices.overdue_mark_all_task",
        "schedule": 60 * 60 * 24,
    },
    "calendar-reminders": {
        "task": "calendar.reminders_due_all_task",
        "schedule": 60,
    },
    "repair-workspace-directory": {
        "task": "access.member_directory_sync_all_task",
        "schedule": 60 * 60 * 24,
    },
    "send-notification-digests": {
        "task": "notifications.digests_send_all_task",
        "schedule": 60 * 60,
    },
    "project-task-moves-prune": {
        "task": "projecttasks.moves_prune_all_task",
        "schedule": 60 * 60 * 24,
    },
    "mail-sync": {
        "task": "mail.mailboxes_sync_all_task",
        "schedule": 60 * 2,
    },
    "mail-send-scheduled": {
        "task": "mail.emails_send_due_all_task",
        "schedule": 60,
    },
}
