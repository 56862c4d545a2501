"""The per-tenant fair queue of automation (crm_apps/automation/fair.py) under a real Celery worker on the
real Redis: workspace A floods its queue with many evaluations and workspace B adds a few just after; B's
runs finish after at most one batch of A's, while A's backlog is still waiting, and every evaluation runs
exactly once."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
from django.db.models import Count
from django_tenants.utils import tenant_context

from conftest import make_user
from crm_apps.access.models import Member
from crm_apps.automation import fair, services, tasks
from crm_apps.automation.models import WorkflowRun
from crm_apps.modules.contacts.models import Contact
from saas.celery import app
from tenants.services import tenant_provision
from tests.integration.helpers import child_env

pytestmark = pytest.mark.slow

FLOOD = 3 * fair.BATCH + 50  # A: four turns of the drain
FEW = 5  # B

# The worker publishes what it queues (a drain re-queuing itself) to the test's own queue, so parallel
# test processes sharing the broker never take each other's tasks.
WORKER = """
import sys
from saas.celery import app
app.conf.task_default_queue = sys.argv[1]
app.worker_main(["worker", "--pool", "solo", "-Q", sys.argv[1], "--without-mingle", "--without-gossip",
                 "--loglevel", "INFO"])
"""


def _start_worker(queue: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, queue],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def worker_queue(monkeypatch):
    """A queue of this test's own; this process queues the first drain of each workspace (fair._kick) to it."""
    queue = f"test-fair-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(tasks.workflow_drain_task, "delay", lambda: tasks.workflow_drain_task.apply_async(queue=queue))
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield queue
    finally:
        app.conf.task_always_eager = previous


@pytest.fixture
def automation_worker(worker_queue):
    proc = _start_worker(worker_queue)
    try:
        yield proc
    finally:
        _stop(proc)


def _workspace(committed, key: str, records: int):
    admin_user = make_user(committed.email())
    tenant = tenant_provision(slug=committed.slug(f"fair{key}"), name=f"Fair {key}", admin=admin_user)
    with tenant_context(tenant):
        admin = Member.objects.get(user=admin_user)
        # The records exist before the workflow does: their evaluations are queued below in one go, as an
        # import or a bulk update of that many records queues them after its commit.
        Contact.objects.bulk_create(
            [
                Contact(number=f"F{key}{i}", first_name="C", last_name=f"{key}{i}", owner=admin, created_by=admin)
                for i in range(records)
            ]
        )
        workflow = services.workflow_create(
            actor=admin,
            name="Stamp",
            module="contacts",
            definition={"trigger": {"type": "created"}, "actions": [{"id": "c", "type": "add_comment", "body": "x"}]},
        )
        ids = [str(pk) for pk in Contact.objects.order_by("pk").values_list("pk", flat=True)]
    return tenant, admin, workflow, ids


def _enqueue(tenant, admin, workflow, ids) -> None:
    with tenant_context(tenant):
        fair.enqueue([{"args": [workflow.pk, record_id, "created", {}, admin.pk, 0]} for record_id in ids])


def _runs(tenant) -> list[tuple[str, float]]:
    with tenant_context(tenant):
        return [
            (r, t.timestamp())
            for r, t in WorkflowRun.objects.order_by("started_at").values_list("record_id", "started_at")
        ]


def test_one_workspace_s_flood_does_not_hold_up_another_s_evaluations(committed, automation_worker):
    proc = automation_worker
    tenant_a, admin_a, workflow_a, ids_a = _workspace(committed, "a", FLOOD)
    tenant_b, admin_b, workflow_b, ids_b = _workspace(committed, "b", FEW)

    _enqueue(tenant_a, admin_a, workflow_a, ids_a)
    _enqueue(tenant_b, admin_b, workflow_b, ids_b)

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (len(_runs(tenant_a)) < FLOOD or len(_runs(tenant_b)) < FEW):
        time.sleep(0.5)
    runs_a, runs_b = _runs(tenant_a), _runs(tenant_b)
    if len(runs_a) < FLOOD or len(runs_b) < FEW:
        proc.terminate()
        pytest.fail(f"A {len(runs_a)}/{FLOOD}, B {len(runs_b)}/{FEW}:\n{proc.communicate(timeout=20)[0][-6000:]}")
    # Fairness: when B's last evaluation ran, A had had at most one turn (BATCH evaluations) before it, and
    # most of A's flood was still waiting behind B.
    b_done = max(t for _r, t in runs_b)
    a_before_b_done = sum(1 for _r, t in runs_a if t <= b_done)
    assert a_before_b_done <= fair.BATCH, (a_before_b_done, fair.BATCH)
    assert FLOOD - a_before_b_done >= 2 * fair.BATCH
    # Nothing lost, nothing run twice: one run per record, each succeeded, the queues are empty.
    for tenant, workflow, ids in ((tenant_a, workflow_a, ids_a), (tenant_b, workflow_b, ids_b)):
        with tenant_context(tenant):
            per_record = dict(
                WorkflowRun.objects.filter(workflow=workflow).values_list("record_id").annotate(n=Count("id"))
            )
            assert sorted(per_record) == sorted(ids) and set(per_record.values()) == {1}
            assert set(WorkflowRun.objects.values_list("status", flat=True)) == {"succeeded"}
            assert fair.pending() == 0
            assert not fair._redis().exists(fair._flag(tenant.schema_name))


def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_a_worker_killed_in_the_middle_of_a_batch_loses_no_evaluation(committed, worker_queue):
    from crm_apps.automation.tasks import tick_task

    tenant, admin, workflow, ids = _workspace(committed, "k", fair.BATCH + 50)
    first = _start_worker(worker_queue)
    try:
        _enqueue(tenant, admin, workflow, ids)
        assert _wait(lambda: len(_runs(tenant)) >= 20, 120), "the first worker ran no evaluation in 120 s"
    finally:
        first.kill()  # SIGKILL in the middle of the first batch: no clean-up runs
        first.wait(timeout=20)
    done_before = len(_runs(tenant))
    client = fair._redis()
    schema = tenant.schema_name
    assert done_before < fair.BATCH
    # The batch the dead drain had taken is still there, in flight, not lost.
    assert client.llen(fair._inflight(schema)) >= fair.BATCH - done_before - 1
    # Its flag and lock expire FLAG_SECONDS after it died; the test expires them now instead of waiting.
    assert client.ttl(fair._lock(schema)) <= fair.FLAG_SECONDS
    client.delete(fair._flag(schema), fair._lock(schema))
    second = _start_worker(worker_queue)
    try:
        with tenant_context(tenant):
            tick_task.apply_async(queue=worker_queue)  # the minute's tick finds entries and no drain: kicks one
        finished = _wait(lambda: len({r for r, _t in _runs(tenant)}) == len(ids), 240)
        if not finished:
            _stop(second)
            pytest.fail(f"{len(_runs(tenant))}/{len(ids)}:\n{second.communicate(timeout=20)[0][-6000:]}")
    finally:
        _stop(second)
    with tenant_context(tenant):
        per_record = dict(
            WorkflowRun.objects.filter(workflow=workflow).values_list("record_id").annotate(n=Count("id"))
        )
        assert sorted(per_record) == sorted(ids)
        # Only the evaluation in progress when the worker died may have run twice.
        assert sum(n - 1 for n in per_record.values()) <= 1, sorted(per_record.values())[-3:]
        assert fair.pending() == 0
