"""A per-tenant fair queue for event-trigger evaluations (docs/automation.md "Queueing and fairness").

A save (or an email, a web form, a portal event...) does not queue one Celery task per workflow and
record: after commit it appends the pending evaluations to its tenant's Redis list, and makes sure one
`workflow_drain_task` of that tenant is queued (a flag set with NX). The drain evaluates at most BATCH
entries, then re-queues itself at the back of the Celery queue while entries remain. An import of
100,000 records therefore holds one place in the queue at a time, and every other tenant's evaluations
run between its batches.

Nothing is lost when a worker dies mid-batch: a drain does not pop its batch away but moves it (one Lua
call) to the tenant's in-flight list and drops each entry only once it was evaluated; the next drain starts
with what a dead one left there. At most one drain of a tenant runs at a time (a lock it refreshes after
each entry, so only a dead drain's lock expires), and the minute's tick re-queues a drain for a tenant with
entries waiting and none queued (`kick_if_pending`), so a dead drain's work resumes within FLAG_SECONDS and
a minute even when no new event arrives. What this does not give: the one entry that was being evaluated
when the worker died may run a second time (its run was committed, its removal from the list was not).
"""

from __future__ import annotations

import json
import logging
import uuid
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


def _inflight(schema: str) -> str:
    return f"automation:evaluating:{schema}"


def _flag(schema: str) -> str:
    """Set while a drain of the tenant is queued or running: a trigger then queues no second one."""
    return f"automation:draining:{schema}"


def _lock(schema: str) -> str:
    """Held by the drain that is running (refreshed after each entry)."""
    return f"automation:drain-lock:{schema}"


# Move up to ARGV[1] entries from the head of the pending list to the tail of the in-flight list, atomically.
_TAKE = """
local items = redis.call('LPOP', KEYS[1], ARGV[1])
if items then redis.call('RPUSH', KEYS[2], unpack(items)) end
return items
"""
# Release the lock only if this drain still holds it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _queue_drain() -> None:
    from crm_apps.automation.tasks import workflow_drain_task

    workflow_drain_task.delay()


def _kick(schema: str) -> None:
    if _redis().set(_flag(schema), "1", nx=True, ex=FLAG_SECONDS):
        _queue_drain()


def enqueue(items: list[dict[str, Any]]) -> None:
    """Append evaluations (after commit, in the tenant's schema) and make sure a drain is queued."""
    if not items:
        return
    schema = current_schema()
    _redis().rpush(_list(schema), *(json.dumps(item, default=str) for item in items))
    _kick(schema)


def pending() -> int:
    """Entries of the current tenant still to evaluate (waiting, or taken by a drain)."""
    schema = current_schema()
    client = _redis()
    return int(client.llen(_list(schema))) + int(client.llen(_inflight(schema)))


def kick_if_pending() -> bool:
    """The tick's safety net: queue a drain when entries wait and no drain is queued or running (its
    flag expired with a worker that died)."""
    if pending():
        schema = current_schema()
        if not _redis().exists(_flag(schema)):
            _kick(schema)
            return True
    return False


def drain() -> int:
    """Evaluate up to BATCH pending entries of the current tenant (first those a dead drain left in flight);
    re-queue the drain while more wait."""
    from crm_apps.automation.tasks import workflow_evaluate_task

    schema = current_schema()
    client = _redis()
    token = uuid.uuid4().hex
    if not client.set(_lock(schema), token, nx=True, ex=FLAG_SECONDS):
        return 0  # another drain of this tenant is running; it re-queues itself while entries remain
    count = 0
    try:
        raw: list[bytes] = client.lrange(_inflight(schema), 0, BATCH - 1)  # type: ignore[assignment]
        if not raw:
            raw = client.eval(_TAKE, 2, _list(schema), _inflight(schema), BATCH) or []
        for entry in raw:
            item = json.loads(entry)
            try:
                workflow_evaluate_task(*item["args"])
            except Exception:  # one broken evaluation must not lose the rest of the batch
                logger.exception("automation: evaluation failed: %s", item)
            client.lpop(_inflight(schema))  # evaluated (or logged as failed): not to be taken again
            client.expire(_lock(schema), FLAG_SECONDS)
            count += 1
    finally:
        client.eval(_RELEASE, 1, _lock(schema), token)
        if pending():
            client.set(_flag(schema), "1", ex=FLAG_SECONDS)
            _queue_drain()
        else:
            client.delete(_flag(schema))
            if pending():  # appended between the check and the release
                _kick(schema)
    return count
