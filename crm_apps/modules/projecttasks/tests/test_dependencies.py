"""Finish-to-start dependencies: only tasks of the same project, never the task itself, never a cycle
(direct or through other tasks); refused with a message on `depends_on` and nothing written."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_delete, record_update
from crm_apps.modules.projects.tests.helpers import D, project_make, reload, task_make
from crm_apps.modules.projecttasks.services import dependency_cycle

pytestmark = pytest.mark.django_db


def _update(actor, task, **data):
    return record_update(spec=registry.get("project-tasks"), actor=actor, record=task, data=data)


def test_dependency_cycle_finds_the_path_back_to_the_start():
    graph = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}

    assert dependency_cycle(graph=graph, start="a") == ["a", "b", "c", "a"]
    assert dependency_cycle(graph={"a": ["b"], "b": []}, start="a") is None
    assert dependency_cycle(graph=graph, start="d") is None  # d leads into a cycle but not back to d


def test_a_direct_cycle_is_refused_with_a_field_message(tenant_a, admin_of):
    with tenant_context(tenant_a):
        actor = admin_of(tenant_a)
        project = project_make(actor)
        design = task_make(actor, project, "Design", D(2027, 1, 4), D(2027, 1, 8))
        build = task_make(actor, project, "Build", D(2027, 1, 11), D(2027, 1, 15), depends_on=[design.pk])

        with pytest.raises(ValidationError) as refused:
            _update(actor, design, depends_on=[build.pk])

        assert refused.value.message_dict == {
            "depends_on": ["These dependencies make a cycle: Design → Build → Design."]
        }
        assert reload(design).depends_on == []
        assert reload(design).version == design.version


def test_an_indirect_cycle_is_refused(tenant_a, admin_of):
    with tenant_context(tenant_a):
        actor = admin_of(tenant_a)
        project = project_make(actor)
        a = task_make(actor, project, "A", D(2027, 1, 4), D(2027, 1, 4))
        b = task_make(actor, project, "B", D(2027, 1, 5), D(2027, 1, 5), depends_on=[a.pk])
        c = task_make(actor, project, "C", D(2027, 1, 6), D(2027, 1, 6), depends_on=[b.pk])

        with pytest.raises(ValidationError) as refused:
            _update(actor, a, depends_on=[c.pk])

        assert refused.value.message_dict == {"depends_on": ["These dependencies make a cycle: A → C → B → A."]}


def test_a_task_cannot_depend_on_itself_another_projects_task_or_without_a_project(tenant_a, admin_of):
    with tenant_context(tenant_a):
        actor = admin_of(tenant_a)
        project, other = project_make(actor), project_make(actor, name="Other")
        a = task_make(actor, project, "A", None, None)
        foreign = task_make(actor, other, "Foreign", None, None)
        loose = task_make(actor, None, "Loose", None, None)

        with pytest.raises(ValidationError) as itself:
            _update(actor, a, depends_on=[a.pk])
        with pytest.raises(ValidationError) as elsewhere:
            _update(actor, a, depends_on=[foreign.pk])
        with pytest.raises(ValidationError) as no_project:
            _update(actor, loose, depends_on=[a.pk])

        assert itself.value.message_dict == {"depends_on": ["A task cannot depend on itself."]}
        assert elsewhere.value.message_dict == {"depends_on": [f"Not a task of this project: {foreign.pk}."]}
        assert no_project.value.message_dict == {"depends_on": ["Only a task of a project can depend on other tasks."]}


def test_the_api_refuses_a_cycle_with_400_and_changes_nothing(client_for, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    api = client_for(tenant_a, actor)
    project = api.post("/api/v1/projects/", {"name": "Plan"}, content_type="application/json").json()
    first = api.post(
        "/api/v1/project-tasks/", {"name": "First", "project": project["id"]}, content_type="application/json"
    ).json()
    second = api.post(
        "/api/v1/project-tasks/",
        {"name": "Second", "project": project["id"], "depends_on": [first["id"]]},
        content_type="application/json",
    ).json()

    refused = api.patch(
        f"/api/v1/project-tasks/{first['id']}/", {"depends_on": [second["id"]]}, content_type="application/json"
    )
    bad_id = api.patch(
        f"/api/v1/project-tasks/{first['id']}/", {"depends_on": ["not-a-uuid"]}, content_type="application/json"
    )
    not_a_list = api.patch(
        f"/api/v1/project-tasks/{first['id']}/", {"depends_on": [{"id": 1}]}, content_type="application/json"
    )

    assert second["depends_on"] == [first["id"]]
    assert refused.status_code == 400
    assert refused.json() == {"depends_on": ["These dependencies make a cycle: First → Second → First."]}
    assert bad_id.status_code == 400 and list(bad_id.json()) == ["depends_on"]
    assert not_a_list.status_code == 400 and not_a_list.json() == {"depends_on": ["Enter a list of values."]}
    after = api.get(f"/api/v1/project-tasks/{first['id']}/").json()
    assert after["depends_on"] == [] and after["version"] == first["version"]


def test_the_openapi_schema_documents_depends_on_as_a_list_of_ids(client_for, tenant_a, admin_of):
    schema = client_for(tenant_a, admin_of(tenant_a)).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    fields = schema["components"]["schemas"]["ProjectTaskRecord"]["properties"]
    assert fields["depends_on"]["type"] == "array"
    assert fields["depends_on"]["items"] == {"type": "string", "format": "uuid"}
    paths = schema["paths"]
    assert {"/api/v1/projects/", "/api/v1/project-tasks/", "/api/v1/project-milestones/"} <= set(paths)
    assert "/api/v1/project-tasks/{record_id}/move" in paths
    assert "/api/v1/project-task-moves/{move_id}/undo" in paths
    assert "/api/v1/projects/from-deal" in paths


def test_a_task_whose_predecessor_went_to_the_recycle_bin_can_still_be_changed(tenant_a, admin_of):
    tasks = registry.get("project-tasks")
    with tenant_context(tenant_a):
        actor = admin_of(tenant_a)
        project = project_make(actor)
        design = task_make(actor, project, "Design", D(2027, 1, 4), D(2027, 1, 8))
        build = task_make(actor, project, "Build", D(2027, 1, 11), D(2027, 1, 15), depends_on=[design.pk])
        record_delete(spec=tasks, actor=actor, record=design)

        _update(actor, build, status="In progress")  # the stale id it already had does not stop the change
        _update(actor, build, depends_on=[])
        with pytest.raises(ValidationError) as re_added:  # adding a binned task anew is refused
            _update(actor, build, depends_on=[design.pk])

        assert reload(build).status == "In progress"
        assert reload(build).depends_on == []
        assert re_added.value.message_dict == {"depends_on": [f"Not a task of this project: {design.pk}."]}
