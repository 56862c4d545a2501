"""Each app clears its own per-task memos on Celery's task_prerun (saas/celery.py names no app)."""

from __future__ import annotations

from celery.signals import task_prerun

from crm_apps.access import grants
from crm_apps.engine import metadata


def test_a_task_starts_without_the_previous_tasks_grants_or_metadata():
    # given memos left by a previous task on this worker thread
    grants._local.grants = {"previous": "task"}
    metadata._local.store = {"previous": "task"}

    # when the next task starts
    task_prerun.send(sender=None, task_id="next", task=None, args=(), kwargs={})

    # then neither app's memo survives
    assert grants._local.grants is None
    assert metadata._local.store is None
