"""A project's progress rolls up from its live tasks: weighted by planned hours, or by count when no task
has planned hours; a completed task counts 100 %, a cancelled one not at all."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_delete, record_restore, record_update
from crm_apps.modules.projects.services import task_weight_progress
from crm_apps.modules.projects.tests.helpers import project_make, reload, task_make

pytestmark = pytest.mark.django_db


def test_the_roll_up_rule():
    hours = [("In progress", 50, Decimal(30)), ("Not started", 0, Decimal(10)), ("Completed", 20, None)]

    assert task_weight_progress(hours) == 38  # (50*30 + 0*10 + 100*0) / 40 = 37.5
    assert task_weight_progress([("In progress", 50, None), ("Completed", 0, None), ("Not started", 0, None)]) == 50
    assert task_weight_progress([("Canceled", 90, Decimal(100)), ("In progress", 10, Decimal(5))]) == 10
    assert task_weight_progress([]) == 0
    assert task_weight_progress([("Canceled", 40, None)]) == 0


def test_progress_follows_task_creates_updates_moves_and_deletes(tenant_a, admin_of):
    tasks = registry.get("project-tasks")
    with tenant_context(tenant_a):
        actor = admin_of(tenant_a)
        project, other = project_make(actor), project_make(actor, name="Other")
        big = task_make(actor, project, "Big", None, None, hours_planned="30", progress=50)
        small = task_make(actor, project, "Small", None, None, hours_planned="10")
        after_create = reload(project).progress

        record_update(spec=tasks, actor=actor, record=small, data={"status": "Completed"})
        after_complete = reload(project).progress
        record_update(spec=tasks, actor=actor, record=small, data={"project": other.pk})
        after_move = (reload(project).progress, reload(other).progress)
        record_delete(spec=tasks, actor=actor, record=big)
        after_delete = reload(project).progress
        record_restore(spec=tasks, actor=actor, record_id=big.pk)
        after_restore = reload(project).progress

    assert after_create == 38  # 50 % of 30 h of 40 h
    assert after_complete == 63  # (50*30 + 100*10) / 40 = 62.5
    assert after_move == (50, 100)
    assert after_delete == 0
    assert after_restore == 50  # back in the roll-up at once


def test_progress_is_read_only_on_the_project(client_for, tenant_a, admin_of):
    api = client_for(tenant_a, admin_of(tenant_a))
    project = api.post("/api/v1/projects/", {"name": "P"}, content_type="application/json").json()

    typed = api.patch(f"/api/v1/projects/{project['id']}/", {"progress": 90}, content_type="application/json")
    task = api.post(
        "/api/v1/project-tasks/",
        {"name": "T", "project": project["id"], "progress": 40},
        content_type="application/json",
    )

    assert typed.status_code == 400 and typed.json() == {"progress": ["Unknown field."]}
    assert task.status_code == 201
    assert api.get(f"/api/v1/projects/{project['id']}/").json()["progress"] == 40
