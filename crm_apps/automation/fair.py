"""A per-tenant fair queue for event-trigger evaluations (docs/automation.md "Queueing and fairness").

A save (or an email, a web form, a portal event...) does not queue one Celery task per workflow and
record: after commit it appends the pending evaluations to its tenant's Redis list, and makes sure one
`workflow_drain_task` of that tenant is queued (a flag set with NX). The drain evaluates at most BATCH
entries, then re-queues itself at the back of the Celery queue while entries remain. An import of
100,000 records therefore holds one place in the queue at a time, and every other tenant's evaluations
run between its batches.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis
from django.conf import settings

from tenants.runtime import current_schema

logger = logging.getLogger(__name__)

BATCH = 200
# A drain that died (a killed worker) is replaced after this many seconds; a live one refreshes it.
FLAG_SECONDS = 120
_clients: dict[str, redis.Redis] = {}


def _redis() -> redis.Redis:
    url = str(settings.CACHES["default"]["LOCATION"])
    client = _clients.get(url)
    if client is None:
        client = _clients.setdefault(url, redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5))
    return client


def _list(schema: str) -> str:
    return f"automation:evaluations:{schema}"


def _flag(schema: str) -> str:
    return f"automation:draining:{schema}"


def _kick(schema: str) -> None:
    if _redis().set(_flag(schema), "1", nx=True, ex=FLAG_SECONDS):
        from crm_apps.automation.tasks import workflow_drain_task

        workflow_drain_task.delay()


def enqueue(items: list[dict[str, Any]]) -> None:
    """Append evaluations (after commit, in the tenant's schema) and make sure a drain is queued."""
    if not items:
        return
    schema = current_schema()
    _redis().rpush(_list(schema), *(json.dumps(item, default=str) for item in items))
    _kick(schema)


def pending() -> int:
    return int(_redis().llen(_list(current_schema())))


def drain() -> int:
    """Evaluate up to BATCH pending entries of the current tenant; re-queue the drain while more wait."""
    from crm_apps.automation.tasks import workflow_evaluate_task

    schema = current_schema()
    client = _redis()
    raw: list[bytes] = client.lpop(_list(schema), BATCH) or []  # type: ignore[assignment]
    count = 0
    try:
        for entry in raw:
            item = json.loads(entry)
            try:
                workflow_evaluate_task(*item["args"])
            except Exception:  # one broken evaluation must not lose the rest of the batch
                logger.exception("automation: evaluation failed: %s", item)
            count += 1
    finally:
        if client.llen(_list(schema)):
            client.set(_flag(schema), "1", ex=FLAG_SECONDS)
            from crm_apps.automation.tasks import workflow_drain_task

            workflow_drain_task.delay()
        else:
            client.delete(_flag(schema))
            if client.llen(_list(schema)):  # appended between the check and the release
                _kick(schema)
    return count
