"""The generic task form and pages: dependencies typed as ids (comma separated) are saved and refused like
through the API; a task's page names the tasks it waits for and those waiting for it."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm_apps.modules.projects.tests.helpers import D, project_make, reload, task_make

pytestmark = pytest.mark.django_db


def test_the_edit_form_saves_dependencies_and_shows_a_cycle_on_the_field(client_for, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    with tenant_context(tenant_a):
        project = project_make(actor)
        design = task_make(actor, project, "Design", D(2027, 1, 4), D(2027, 1, 8))
        build = task_make(actor, project, "Build", D(2027, 1, 11), D(2027, 1, 15))
    web = client_for(tenant_a, actor)
    form = {
        "name": "Build",
        "project": str(project.pk),
        "status": "Not started",
        "progress": "0",
        "start_date": "2027-01-11",
        "end_date": "2027-01-15",
        "owner": f"m:{actor.pk}",
    }

    saved = web.post(f"/m/project-tasks/{build.pk}/edit/", {**form, "depends_on": f" {design.pk} "})
    refused = web.post(f"/m/project-tasks/{design.pk}/edit/", {**form, "name": "Design", "depends_on": str(build.pk)})
    page = web.get(f"/m/project-tasks/{design.pk}/")

    assert saved.status_code == 302, saved.content.decode()[:2000]
    with tenant_context(tenant_a):
        assert reload(build).depends_on == [design.pk]
        assert reload(design).depends_on == []
    assert refused.status_code == 200
    assert "These dependencies make a cycle: Design → Build → Design." in refused.content.decode()
    assert "Tasks waiting for this one" in page.content.decode() and "Build" in page.content.decode()


def test_dependencies_are_chosen_by_name_on_the_tasks_page(client_for, tenant_a, admin_of, member):
    actor = admin_of(tenant_a)
    with tenant_context(tenant_a):
        project = project_make(actor)
        design = task_make(actor, project, "Design", D(2027, 1, 4), D(2027, 1, 8))
        review = task_make(actor, project, "Review", D(2027, 1, 4), D(2027, 1, 8))
        build = task_make(actor, project, "Build", D(2027, 1, 11), D(2027, 1, 15))
        reader = member(tenant_a)
    web = client_for(tenant_a, actor)

    page = web.get(f"/m/project-tasks/{build.pk}/").content.decode()
    saved = web.post(f"/m/project-tasks/{build.pk}/dependencies/", {"depends_on": [str(design.pk), str(review.pk)]})
    cycle = web.post(f"/m/project-tasks/{design.pk}/dependencies/", {"depends_on": [str(build.pk)]}, follow=True)
    stranger = client_for(tenant_a, reader)

    assert 'name="depends_on" multiple data-ui="multiselect"' in page and f"{design.number} Design" in page
    assert saved.status_code == 302
    assert "These dependencies make a cycle: Design → Build → Design." in cycle.content.decode()
    with tenant_context(tenant_a):
        assert reload(build).depends_on == [design.pk, review.pk]
        assert reload(design).depends_on == []
    with tenant_context(tenant_a):
        from crm_apps.access.services import sharing_default_set

        # Tasks follow their project: both read-only for others.
        sharing_default_set(actor=actor, module="project-tasks", access="public_read")
        sharing_default_set(actor=actor, module="projects", access="public_read")
    refused = stranger.post(f"/m/project-tasks/{build.pk}/dependencies/", {"depends_on": []}, follow=True)
    assert "You may not change this record." in refused.content.decode()
    with tenant_context(tenant_a):
        assert reload(build).depends_on == [design.pk, review.pk]
