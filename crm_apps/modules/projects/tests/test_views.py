"""The project screens: the Gantt page and its data, the table's keyboard move with undo, the workload,
the task board of one project; each through the visibility filter, with pinned query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from conftest import statements
from crm_apps.access.services import sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.projects.selectors import workload
from crm_apps.modules.projects.tests.helpers import D, project_make, reload, task_make

pytestmark = pytest.mark.django_db

GANTT_QUERIES = 4  # session with member and user; the project, its tasks, its milestones
GANTT_API_QUERIES = 4
WORKLOAD_QUERIES = 2  # session with member and user; the tasks with their owners
TASK_LIST_QUERIES = 2


@pytest.fixture
def plan(tenant_a, admin_of):
    with tenant_context(tenant_a):
        actor = admin_of(tenant_a)
        project = project_make(actor, start_date="2027-01-04")
        design = task_make(actor, project, "Design", D(2027, 1, 4), D(2027, 1, 8), hours_planned="20")
        build = task_make(actor, project, "Build", D(2027, 1, 11), D(2027, 1, 15), depends_on=[design.pk])
        milestone = record_create(
            spec=registry.get("project-milestones"),
            actor=actor,
            data={"name": "Go-live", "project": project.pk, "date": "2027-01-18"},
        )
    return {"actor": actor, "project": project, "design": design, "build": build, "milestone": milestone}


def test_the_gantt_data_lists_tasks_dependencies_and_milestones(client_for, tenant_a, plan):
    api = client_for(tenant_a, plan["actor"])

    data = api.get(f"/api/v1/projects/{plan['project'].pk}/gantt").json()

    assert data["project"]["name"] == "Rollout"
    assert [(t["name"], t["start_date"], t["end_date"], t["depends_on"], t["can_edit"]) for t in data["tasks"]] == [
        ("Design", "2027-01-04", "2027-01-08", [], True),
        ("Build", "2027-01-11", "2027-01-15", [str(plan["design"].pk)], True),
    ]
    assert [(m["name"], m["date"], m["reached"]) for m in data["milestones"]] == [("Go-live", "2027-01-18", False)]
    assert data["today"] == dt.date.today().isoformat()


def test_the_gantt_page_and_data_have_pinned_query_counts_whatever_the_number_of_tasks(client_for, tenant_a, plan):
    web = client_for(tenant_a, plan["actor"])
    url = f"/projects/{plan['project'].pk}/gantt/"
    api_url = f"/api/v1/projects/{plan['project'].pk}/gantt"
    web.get(url)
    with CaptureQueriesContext(connection) as few:
        page = web.get(url)
    with CaptureQueriesContext(connection) as few_api:
        web.get(api_url)
    with tenant_context(tenant_a):
        for i in range(6):
            task_make(plan["actor"], plan["project"], f"Extra {i}", D(2027, 2, 1), D(2027, 2, 2))
    with CaptureQueriesContext(connection) as many:
        web.get(url)
    with CaptureQueriesContext(connection) as many_api:
        web.get(api_url)

    html = page.content.decode()
    assert page.status_code == 200
    assert "data-gantt" in html and 'id="gantt-plan"' in html and "Go-live" in html
    assert html.count('type="date"') == 4  # start and end of both tasks, for keyboard and phone
    assert f"/m/projects/{plan['project'].pk}/related/project-tasks/new/" in html  # "New task" in this project
    assert [len(statements(c)) for c in (few, many, few_api, many_api)] == [GANTT_QUERIES] * 2 + [GANTT_API_QUERIES] * 2


def test_the_tables_save_moves_the_task_and_offers_undo(client_for, tenant_a, plan):
    web = client_for(tenant_a, plan["actor"])
    project, design = plan["project"], plan["design"]

    saved = web.post(
        f"/projects/{project.pk}/gantt/tasks/{design.pk}/move/", {"start_date": "2027-01-06", "end_date": "2027-01-12"}
    )
    page = web.get(saved["Location"])
    move_id = saved["Location"].split("move=")[1]
    undone = web.post(f"/projects/{project.pk}/gantt/moves/{move_id}/undo/")

    assert saved.status_code == 302
    assert "2 tasks were rescheduled." in page.content.decode()
    assert undone.status_code == 302
    with tenant_context(tenant_a):
        assert (reload(design).start_date, reload(plan["build"]).start_date) == (D(2027, 1, 4), D(2027, 1, 11))


def test_a_member_who_cannot_see_the_project_gets_404s(client_for, tenant_a, tenant_b, admin_of, member, plan):
    with tenant_context(tenant_a):
        sharing_default_set(actor=plan["actor"], module="projects", access="private")
        sharing_default_set(actor=plan["actor"], module="project-tasks", access="private", follow_parent=True)
        outsider = member(tenant_a)
    project = plan["project"]

    for client in (client_for(tenant_a, outsider), client_for(tenant_b, admin_of(tenant_b))):
        assert client.get(f"/projects/{project.pk}/gantt/").status_code == 404
        assert client.get(f"/api/v1/projects/{project.pk}/gantt").status_code == 404
        # The tasks follow their project: hidden too.
        assert client.get(f"/api/v1/project-tasks/{plan['design'].pk}/").status_code == 404


def test_workload_spreads_planned_hours_over_working_days_per_member_and_week(tenant_a, admin_of, member):
    with tenant_context(tenant_a):
        actor = admin_of(tenant_a)
        other = member(tenant_a)
        project = project_make(actor)
        # Thu 7 Jan to Wed 13 Jan 2027: 5 working days, 10 h -> 2 h a day: Thu+Fri in week 1, Mon-Wed in week 2.
        task_make(actor, project, "Spread", D(2027, 1, 7), D(2027, 1, 13), hours_planned="10")
        task_make(other, project, "Weekend", D(2027, 1, 9), D(2027, 1, 10), hours_planned="3")
        task_make(other, project, "Cancelled", D(2027, 1, 4), D(2027, 1, 4), hours_planned="8", status="Canceled")
        task_make(other, project, "Unplanned", D(2027, 1, 4), D(2027, 1, 4))

        weeks, rows = workload(actor=actor, first_week=D(2027, 1, 6), weeks=3)

    assert weeks == [D(2027, 1, 4), D(2027, 1, 11), D(2027, 1, 18)]
    assert [(r.name, [str(h) for h in r.hours]) for r in rows] == [
        (actor.user.name, ["4.0", "6.0", "0.0"]),
        (other.user.name, ["3.0", "0.0", "0.0"]),
    ]


def test_the_workload_page_and_the_projects_task_board(client_for, tenant_a, plan):
    web = client_for(tenant_a, plan["actor"])
    with tenant_context(tenant_a):
        other = project_make(plan["actor"], name="Elsewhere")
        task_make(plan["actor"], other, "Not on this board", None, None)

    workload_page = web.get("/projects/workload/?week=2027-01-04")
    board = web.get(f"/m/project-tasks/board/?project={plan['project'].pk}")
    whole_board = web.get("/m/project-tasks/board/")

    assert workload_page.status_code == 200
    assert plan["actor"].user.name in workload_page.content.decode()
    assert board.status_code == 200
    assert "Design" in board.content.decode() and "Not on this board" not in board.content.decode()
    assert "Tasks of “Rollout”" in board.content.decode()
    assert "Not on this board" in whole_board.content.decode()


def test_a_reader_sees_the_plan_without_date_fields_and_may_not_move(client_for, tenant_a, member, plan):
    with tenant_context(tenant_a):
        sharing_default_set(actor=plan["actor"], module="projects", access="public_read")
        sharing_default_set(actor=plan["actor"], module="project-tasks", access="public_read")
        reader = member(tenant_a)
    web = client_for(tenant_a, reader)
    project, design = plan["project"], plan["design"]

    page = web.get(f"/projects/{project.pk}/gantt/").content.decode()
    data = web.get(f"/api/v1/projects/{project.pk}/gantt").json()
    moved = web.post(
        f"/api/v1/project-tasks/{design.pk}/move",
        {"start_date": "2027-01-05", "end_date": "2027-01-09"},
        content_type="application/json",
    )
    posted = web.post(
        f"/projects/{project.pk}/gantt/tasks/{design.pk}/move/", {"start_date": "2027-01-05", "end_date": "2027-01-09"}
    )

    assert 'type="date"' not in page and 'data-readonly="1"' in page
    assert [t["can_edit"] for t in data["tasks"]] == [False, False]
    assert moved.status_code == 403 and moved.json() == {"detail": "You may not change this record."}
    assert posted.status_code == 302
    with tenant_context(tenant_a):
        assert reload(design).start_date == D(2027, 1, 4)


def test_the_workload_api_and_its_refusals(client_for, tenant_a, tenant_b, admin_of, plan):
    api = client_for(tenant_a, plan["actor"])

    week = api.get(f"/api/v1/projects/workload?week=2027-01-04&project={plan['project'].pk}").json()
    elsewhere = client_for(tenant_b, admin_of(tenant_b)).get(f"/api/v1/projects/workload?project={plan['project'].pk}")

    assert week["weeks"][:2] == ["2027-01-04", "2027-01-11"]
    assert week["members"] == [
        {
            "member": plan["actor"].pk,
            "name": plan["actor"].user.name,
            "hours": ["20.0"] + ["0.0"] * 7,
            "total": "20.0",
        }
    ]
    assert elsewhere.status_code == 404


def test_templates_are_per_workspace_and_written_by_admins_only(client_for, tenant_a, tenant_b, admin_of, member):
    admin_api = client_for(tenant_a, admin_of(tenant_a))
    created = admin_api.post(
        "/api/v1/project-templates/",
        {"name": "Std", "tasks": [{"name": "Kick-off", "offset_days": 0, "duration_days": 1}]},
        content_type="application/json",
    ).json()
    seller = client_for(tenant_a, member(tenant_a))

    refused = seller.put(
        f"/api/v1/project-templates/{created['id']}", {"name": "Mine", "tasks": []}, content_type="application/json"
    )
    bad = admin_api.put(
        f"/api/v1/project-templates/{created['id']}", {"name": "Std", "tasks": []}, content_type="application/json"
    )
    other_tenant = client_for(tenant_b, admin_of(tenant_b))

    assert refused.status_code == 403
    assert bad.status_code == 400 and bad.json() == {"tasks": ["Add at least one task."]}
    assert [t["name"] for t in seller.get("/api/v1/project-templates/").json()["results"]] == ["Std"]
    assert other_tenant.get("/api/v1/project-templates/").json() == {"results": []}
    assert other_tenant.delete(f"/api/v1/project-templates/{created['id']}").status_code == 404
    assert admin_api.delete(f"/api/v1/project-templates/{created['id']}").status_code == 204


# The record pages of the three modules, for an admin, with their panels: the project's plan box (its hours),
# a task's dependencies box (one query for the project's other tasks). The shared panels (activities,
# documents), the related lists and the comments read nothing when nothing is linked to the record (whether
# anything is comes with the record, ADR 0047 "Addendum (detail page)"). The same count whatever the number of
# tasks. The recently-viewed mark is a Redis write, not a statement (ADR 0047).
PAGE_QUERIES = {"projects": 8, "project-tasks": 4, "project-milestones": 3}


@pytest.mark.parametrize("module", sorted(PAGE_QUERIES))
def test_record_pages_have_pinned_query_counts(client_for, tenant_a, plan, module):
    record = {"projects": plan["project"], "project-tasks": plan["build"], "project-milestones": plan["milestone"]}[
        module
    ]
    web = client_for(tenant_a, plan["actor"])
    url = f"/m/{module}/{record.pk}/"
    web.get(url)
    with CaptureQueriesContext(connection) as few:
        page = web.get(url)
    with tenant_context(tenant_a):
        for i in range(4):
            task_make(plan["actor"], plan["project"], f"More {i}", D(2027, 2, 1), D(2027, 2, 2))
    with CaptureQueriesContext(connection) as many:
        web.get(url)

    assert page.status_code == 200
    assert [len(statements(few)), len(statements(many))] == [PAGE_QUERIES[module]] * 2, [
        q[:100] for q in statements(few)
    ]


def test_organisations_and_contacts_list_their_visible_projects(client_for, tenant_a, admin_of, member):
    with tenant_context(tenant_a):
        actor = admin_of(tenant_a)
        org = record_create(spec=registry.get("organizations"), actor=actor, data={"name": "Globex"})
        contact = record_create(spec=registry.get("contacts"), actor=actor, data={"last_name": "Simpson"})
        project_make(actor, name="Globex rollout", organization=org.pk, contact=contact.pk)
        project_make(actor, name="Someone else's")
        sharing_default_set(actor=actor, module="projects", access="private", follow_parent=False)
        outsider = member(tenant_a)
    web = client_for(tenant_a, actor)

    org_page = web.get(f"/m/organizations/{org.pk}/").content.decode()
    contact_page = web.get(f"/m/contacts/{contact.pk}/").content.decode()
    listed = web.get(f"/m/projects/?organization={org.pk}").content.decode()
    hidden = client_for(tenant_a, outsider).get(f"/m/organizations/{org.pk}/").content.decode()

    assert "Globex rollout" in org_page and "Someone else" not in org_page
    assert "Globex rollout" in contact_page
    assert "Globex rollout" in listed and "Someone else" not in listed
    assert 'id="related-projects-title"' not in hidden


def test_the_project_page_shows_progress_and_hours(client_for, tenant_a, plan):
    with tenant_context(tenant_a):
        task_make(plan["actor"], plan["project"], "Extra", None, None, hours_planned="4.5", hours_worked="2")

    page = client_for(tenant_a, plan["actor"]).get(f"/m/projects/{plan['project'].pk}/").content.decode()

    assert "3 tasks: 2 of 24.5 planned hours worked." in page
    assert f"/projects/{plan['project'].pk}/gantt/" in page


def test_the_workload_page_and_the_task_list_of_a_project_have_pinned_query_counts(client_for, tenant_a, plan):
    web = client_for(tenant_a, plan["actor"])
    urls = ["/projects/workload/?week=2027-01-04", f"/api/v1/project-tasks/?project={plan['project'].pk}"]
    for url in urls:
        web.get(url)
    counts = []
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            web.get(url)
        counts.append(len(statements(captured)))
    with tenant_context(tenant_a):
        for i in range(5):
            task_make(plan["actor"], plan["project"], f"More {i}", D(2027, 1, 5), D(2027, 1, 6), hours_planned="3")
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            response = web.get(url)
        counts.append(len(statements(captured)))

    assert counts == [WORKLOAD_QUERIES, TASK_LIST_QUERIES] * 2
    assert [t["name"] for t in response.json()["results"]][:2] == ["More 4", "More 3"]  # newest first
    assert len(response.json()["results"]) == 7
