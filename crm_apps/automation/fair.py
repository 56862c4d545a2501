"""A per-tenant fair queue for event-trigger evaluations (docs/automation.md "Queueing and fairness").

A save (or an email, a web form, a portal event...) does not queue one Celery task per workflow and
record: after commit it appends the pending evaluations to its tenant's Redis list, and makes sure one
`workflow_drain_task` of that tenant is queued (a flag set with NX). The drain evaluates at most BATCH
entries, then re-queues itself at the back of the Celery queue while entries remain. An import of
100,000 records therefore holds one place in the queue at a time, and every other tenant's evaluations
run between its batches.

Nothing is lost when a worker dies mid-batch: a drain does not pop its batch away but moves it (one Lua
call) to the tenant's in-flight list and drops each entry only once it was evaluated; the next drain starts
with what a dead one left there. At most one drain of a tenant runs at a time: it holds a lock that a
heartbeat thread refreshes while an evaluation runs (for at most ENTRY_SECONDS per entry), so only a dead
drain's lock expires, and it removes an entry (exactly that entry, LREM) only in a Lua call that checks it
still holds the lock: a drain that lost its lock stops without touching the list. The minute's tick
re-queues a drain for a tenant with entries waiting and none queued (`kick_if_pending`), so a dead drain's
work resumes within FLAG_SECONDS and a minute even when no new event arrives.

Poison entries: each try of an entry is counted (a per-tenant hash keyed by the entry's digest); an entry
whose MAX_ATTEMPTS tries all died with their worker, and an entry that is not valid JSON, is moved to the
tenant's dead-letter list (`dead_letters()`) and logged as an error, so it cannot stall the tenant's queue.
What this does not give: the entry that was being evaluated when the worker died (or whose evaluation ran
past ENTRY_SECONDS) may run a second time (its run was committed, its removal from the list was not).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from typing import Any

import redis

from saas.redis_clients import redis_client
from tenants.runtime import current_schema

logger = logging.getLogger(__name__)

BATCH = 200
# A drain that died (a killed worker) is replaced after this many seconds; a live one refreshes it.
FLAG_SECONDS = 120
# The heartbeat keeps a drain's lock alive this long per entry at most: an evaluation that hangs longer
# loses the lock, and the next drain retries the entry (counted towards MAX_ATTEMPTS).
ENTRY_SECONDS = 600
# Tries of an entry whose drain never finished it (a killed worker) before it goes to the dead-letter list.
MAX_ATTEMPTS = 3
# How long the dead-letter list and the try counts are kept.
KEEP_SECONDS = 30 * 24 * 3600


def _redis() -> redis.Redis:
    """Workers wait longer than pages: a queue write must not be lost to a slow second."""
    return redis_client(connect_timeout=2, timeout=5, health_check_interval=0)


def _list(schema: str) -> str:
    return f"automation:evaluations:{schema}"


def _inflight(schema: str) -> str:
    return f"automation:evaluating:{schema}"


def _flag(schema: str) -> str:
    """Set while a drain of the tenant is queued or running: a trigger then queues no second one."""
    return f"automation:draining:{schema}"


def _lock(schema: str) -> str:
    """Held by the drain that is running (refreshed by its heartbeat and after each entry)."""
    return f"automation:drain-lock:{schema}"


def _attempts(schema: str) -> str:
    """Tries of each in-flight entry (by digest) that have started."""
    return f"automation:evaluation-attempts:{schema}"


def _dead(schema: str) -> str:
    """Entries given up on: malformed, or each of their MAX_ATTEMPTS tries died with its worker."""
    return f"automation:evaluations-dead:{schema}"


def _digest(entry: bytes) -> str:
    return hashlib.sha256(entry).hexdigest()


# Move up to ARGV[1] entries from the head of the pending list to the tail of the in-flight list, atomically.
_TAKE = """
local items = redis.call('LPOP', KEYS[1], ARGV[1])
if items then redis.call('RPUSH', KEYS[2], unpack(items)) end
return items
"""
# Refresh the lock (KEYS[1]) for ARGV[2] seconds, only if this drain (token ARGV[1]) still holds it.
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# A try of an entry starts: count it (KEYS[2] hash, field ARGV[3]) under the lock; -1 when the lock is lost.
_START = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('EXPIRE', KEYS[1], ARGV[2])
local n = redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
redis.call('EXPIRE', KEYS[2], ARGV[4])
return n
"""
# An entry is done (KEYS[3] empty) or given up on (KEYS[3] the dead-letter list): remove exactly that entry
# from the in-flight list KEYS[2] and forget its tries (KEYS[4]), only if this drain still holds the lock.
_FINISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('LREM', KEYS[2], 1, ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[4])
if ARGV[5] == '1' then
  redis.call('RPUSH', KEYS[3], ARGV[3])
  redis.call('EXPIRE', KEYS[3], ARGV[6])
end
return 1
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


def dead_letters() -> list[dict[str, Any] | str]:
    """The current tenant's dead-letter entries (parsed; a malformed one as its raw text)."""
    out: list[dict[str, Any] | str] = []
    entries: list[bytes] = _redis().lrange(_dead(current_schema()), 0, -1)  # type: ignore[assignment]
    for entry in entries:
        try:
            out.append(json.loads(entry))
        except ValueError:
            out.append(entry.decode("utf-8", "replace"))
    return out


class _Heartbeat:
    """Refreshes the drain's lock while one entry is evaluated, for at most ENTRY_SECONDS."""

    def __init__(self, client: redis.Redis, key: str, token: str) -> None:
        self._client, self._key, self._token = client, key, token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="automation-drain-heartbeat", daemon=True)

    def _run(self) -> None:
        interval = max(FLAG_SECONDS / 3, 0.05)
        deadline = time.monotonic() + ENTRY_SECONDS
        while not self._stop.wait(interval) and time.monotonic() < deadline:
            try:
                if not self._client.eval(_REFRESH, 1, self._key, self._token, FLAG_SECONDS):
                    return  # lost: the drain notices when it finishes the entry
            except redis.RedisError:
                logger.warning("automation: drain heartbeat could not reach Redis", exc_info=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def drain() -> int:
    """Evaluate up to BATCH pending entries of the current tenant (first those a dead drain left in flight);
    re-queue the drain while more wait. Stops as soon as it finds it no longer holds the tenant's lock."""
    from crm_apps.automation.tasks import workflow_evaluate_task

    schema = current_schema()
    client = _redis()
    token = uuid.uuid4().hex
    lock = _lock(schema)
    if not client.set(lock, token, nx=True, ex=FLAG_SECONDS):
        return 0  # another drain of this tenant is running; it re-queues itself while entries remain

    def finish(entry: bytes, *, dead: bool) -> bool:
        keys = (lock, _inflight(schema), _dead(schema), _attempts(schema))
        args = (token, FLAG_SECONDS, entry, _digest(entry), "1" if dead else "0", KEEP_SECONDS)
        return bool(client.eval(_FINISH, 4, *keys, *args))

    count = 0
    try:
        raw: list[bytes] = client.lrange(_inflight(schema), 0, BATCH - 1)  # type: ignore[assignment]
        if not raw:
            raw = client.eval(_TAKE, 2, _list(schema), _inflight(schema), BATCH) or []
        for entry in raw:
            tries = int(
                client.eval(_START, 2, lock, _attempts(schema), token, FLAG_SECONDS, _digest(entry), KEEP_SECONDS)
            )
            if tries < 0:
                logger.warning("automation: drain of %s lost its lock; stopping", schema)
                break
            try:
                item = json.loads(entry)
                args = item["args"]
            except (ValueError, TypeError, KeyError):
                logger.error("automation: malformed evaluation moved to the dead-letter list: %r", entry)
                if not finish(entry, dead=True):
                    break
                continue
            if tries > MAX_ATTEMPTS:
                logger.error(
                    "automation: evaluation moved to the dead-letter list after %d tries that never finished: %s",
                    MAX_ATTEMPTS,
                    item,
                )
                if not finish(entry, dead=True):
                    break
                continue
            with _Heartbeat(client, lock, token):
                try:
                    workflow_evaluate_task(*args)
                except Exception:  # one broken evaluation must not lose the rest of the batch
                    logger.exception("automation: evaluation failed: %s", item)
            count += 1
            if not finish(entry, dead=False):  # evaluated (or logged as failed): not to be taken again
                logger.warning("automation: drain of %s lost its lock; stopping", schema)
                break
    finally:
        client.eval(_RELEASE, 1, lock, token)
        if pending():
            client.set(_flag(schema), "1", ex=FLAG_SECONDS)
            _queue_drain()
        else:
            client.delete(_flag(schema))
            if pending():  # appended between the check and the release
                _kick(schema)
    return count
