"""Moving a task pushes the dependants whose finish-to-start rule it would break (and only those), each
through record_update; the move is kept so its member can undo it once, while nothing changed since."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_tenants.utils import tenant_context

from crm_apps.access.services import sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import record_update
from crm_apps.modules.projects.tests.helpers import D, project_make, reload, task_make
from crm_apps.modules.projecttasks.models import ProjectTask, TaskMove
from crm_apps.modules.projecttasks.services import task_move, task_move_undo

pytestmark = pytest.mark.django_db


def _dates(task):
    task = reload(task)
    return (task.start_date, task.end_date)


@pytest.fixture
def chain(tenant_a, admin_of):
    """design (4-8 Jan) <- build (11-15 Jan) <- test (18-19 Jan); docs (11-12 Jan) depends on design only;
    free (4-5 Jan) depends on nothing."""
    with tenant_context(tenant_a):
        actor = admin_of(tenant_a)
        project = project_make(actor)
        design = task_make(actor, project, "Design", D(2027, 1, 4), D(2027, 1, 8))
        build = task_make(actor, project, "Build", D(2027, 1, 11), D(2027, 1, 15), depends_on=[design.pk])
        test = task_make(actor, project, "Test", D(2027, 1, 18), D(2027, 1, 19), depends_on=[build.pk])
        docs = task_make(actor, project, "Docs", D(2027, 1, 20), D(2027, 1, 21), depends_on=[design.pk])
        free = task_make(actor, project, "Free", D(2027, 1, 4), D(2027, 1, 5))
    return {
        "actor": actor,
        "project": project,
        "design": design,
        "build": build,
        "test": test,
        "docs": docs,
        "free": free,
    }


def test_moving_a_task_pushes_the_dependants_it_would_overlap_keeping_their_length(tenant_a, chain):
    with tenant_context(tenant_a):
        move = task_move(
            actor=chain["actor"], task_id=chain["design"].pk, start_date="2027-01-06", end_date="2027-01-12"
        )

        assert _dates(chain["design"]) == (D(2027, 1, 6), D(2027, 1, 12))
        assert _dates(chain["build"]) == (D(2027, 1, 13), D(2027, 1, 17))  # after design, still 5 days
        assert _dates(chain["test"]) == (D(2027, 1, 18), D(2027, 1, 19))  # build now ends 17th: test still fits
        assert _dates(chain["docs"]) == (D(2027, 1, 20), D(2027, 1, 21))  # starts after the 12th anyway
        assert _dates(chain["free"]) == (D(2027, 1, 4), D(2027, 1, 5))
        assert [(c["name"], c["before"], c["after"]) for c in move.changes] == [
            ("Design", ["2027-01-04", "2027-01-08"], ["2027-01-06", "2027-01-12"]),
            ("Build", ["2027-01-11", "2027-01-15"], ["2027-01-13", "2027-01-17"]),
        ]
        updates = TimelineEntry.objects.filter(record_id=chain["build"].pk, kind="updated").values_list(
            "data", flat=True
        )
        assert list(updates) == [
            {"changes": {"end_date": ["2027-01-15", "2027-01-17"], "start_date": ["2027-01-11", "2027-01-13"]}}
        ]


def test_a_longer_push_ripples_through_the_whole_chain(tenant_a, chain):
    with tenant_context(tenant_a):
        move = task_move(
            actor=chain["actor"], task_id=chain["design"].pk, start_date="2027-01-11", end_date="2027-01-15"
        )

        assert _dates(chain["build"]) == (D(2027, 1, 16), D(2027, 1, 20))
        assert _dates(chain["test"]) == (D(2027, 1, 21), D(2027, 1, 22))
        assert _dates(chain["docs"]) == (D(2027, 1, 20), D(2027, 1, 21))
        assert [c["name"] for c in move.changes] == ["Design", "Build", "Test"]


def test_moving_earlier_moves_nothing_else_and_a_task_may_not_start_before_its_predecessor_ends(tenant_a, chain):
    with tenant_context(tenant_a):
        earlier = task_move(
            actor=chain["actor"], task_id=chain["build"].pk, start_date="2027-01-09", end_date="2027-01-10"
        )

        with pytest.raises(ValidationError) as refused:
            task_move(actor=chain["actor"], task_id=chain["build"].pk, start_date="2027-01-08", end_date="2027-01-10")

        assert [c["name"] for c in earlier.changes] == ["Build"]
        assert _dates(chain["test"]) == (D(2027, 1, 18), D(2027, 1, 19))
        assert refused.value.message_dict == {"start_date": ["“Design” must end first: start after 2027-01-08."]}
        assert _dates(chain["build"]) == (D(2027, 1, 9), D(2027, 1, 10))


def test_bad_dates_are_refused_with_field_messages(tenant_a, chain):
    with tenant_context(tenant_a):
        with pytest.raises(ValidationError) as bad:
            task_move(actor=chain["actor"], task_id=chain["free"].pk, start_date="soon", end_date="2027-01-01")
        with pytest.raises(ValidationError) as backwards:
            task_move(actor=chain["actor"], task_id=chain["free"].pk, start_date="2027-01-09", end_date="2027-01-08")

        assert bad.value.message_dict == {"start_date": ["Enter a valid date."]}
        assert backwards.value.message_dict == {"end_date": ["The end date cannot be before the start date."]}
        assert TaskMove.objects.count() == 0


def test_undo_puts_every_moved_task_back_once(tenant_a, chain):
    with tenant_context(tenant_a):
        move = task_move(
            actor=chain["actor"], task_id=chain["design"].pk, start_date="2027-01-11", end_date="2027-01-15"
        )

        undone = task_move_undo(actor=chain["actor"], move_id=move.pk)
        with pytest.raises(ValidationError) as twice:
            task_move_undo(actor=chain["actor"], move_id=move.pk)

        assert undone.undone_at is not None
        assert _dates(chain["design"]) == (D(2027, 1, 4), D(2027, 1, 8))
        assert _dates(chain["build"]) == (D(2027, 1, 11), D(2027, 1, 15))
        assert _dates(chain["test"]) == (D(2027, 1, 18), D(2027, 1, 19))
        assert twice.value.message_dict == {"move": ["This move was already undone."]}


def test_undo_is_refused_when_a_moved_task_changed_since_and_nothing_is_put_back(tenant_a, chain):
    with tenant_context(tenant_a):
        move = task_move(
            actor=chain["actor"], task_id=chain["design"].pk, start_date="2027-01-11", end_date="2027-01-15"
        )
        record_update(
            spec=registry.get("project-tasks"),
            actor=chain["actor"],
            record=chain["test"],
            data={"end_date": "2027-01-25"},
        )

        with pytest.raises(ValidationError) as refused:
            task_move_undo(actor=chain["actor"], move_id=move.pk)

        assert refused.value.message_dict == {"move": ["“Test” was rescheduled since; undo is no longer possible."]}
        assert _dates(chain["design"]) == (D(2027, 1, 11), D(2027, 1, 15))
        assert reload(move).undone_at is None


def test_only_the_member_who_moved_may_undo(tenant_a, chain, member):
    with tenant_context(tenant_a):
        move = task_move(
            actor=chain["actor"], task_id=chain["design"].pk, start_date="2027-01-11", end_date="2027-01-15"
        )
        other = member(tenant_a, is_admin=True)

        with pytest.raises(TaskMove.DoesNotExist):
            task_move_undo(actor=other, move_id=move.pk)


def test_a_move_that_would_push_a_task_the_member_may_not_edit_changes_nothing(tenant_a, admin_of, member):
    with tenant_context(tenant_a):
        admin = admin_of(tenant_a)
        planner = member(tenant_a)
        sharing_default_set(actor=admin, module="project-tasks", access="public_read")
        sharing_default_set(actor=admin, module="projects", access="public_read")
        project = project_make(admin)
        mine = task_make(planner, project, "Mine", D(2027, 1, 4), D(2027, 1, 8))
        theirs = task_make(admin, project, "Theirs", D(2027, 1, 11), D(2027, 1, 12), depends_on=[mine.pk])

        with pytest.raises(PermissionDenied):
            task_move(actor=planner, task_id=mine.pk, start_date="2027-01-10", end_date="2027-01-14")

        assert _dates(mine) == (D(2027, 1, 4), D(2027, 1, 8))
        assert _dates(theirs) == (D(2027, 1, 11), D(2027, 1, 12))
        assert TaskMove.objects.count() == 0


def test_the_move_api_answers_what_moved_and_undo_puts_it_back(client_for, tenant_a, chain):
    api = client_for(tenant_a, chain["actor"])
    design = chain["design"]

    moved = api.post(
        f"/api/v1/project-tasks/{design.pk}/move",
        {"start_date": "2027-01-06", "end_date": "2027-01-12"},
        content_type="application/json",
    )
    refused = api.post(
        f"/api/v1/project-tasks/{chain['build'].pk}/move",
        {"start_date": "2027-01-01", "end_date": "2027-01-02"},
        content_type="application/json",
    )
    undone = api.post(f"/api/v1/project-task-moves/{moved.json()['move']}/undo")

    assert moved.status_code == 200
    body = moved.json()
    assert body["undone"] is False
    assert body["moved"] == [
        {
            "task": str(design.pk),
            "name": "Design",
            "before": ["2027-01-04", "2027-01-08"],
            "after": ["2027-01-06", "2027-01-12"],
        },
        {
            "task": str(chain["build"].pk),
            "name": "Build",
            "before": ["2027-01-11", "2027-01-15"],
            "after": ["2027-01-13", "2027-01-17"],
        },
    ]
    assert refused.status_code == 400 and list(refused.json()) == ["start_date"]
    assert undone.status_code == 200 and undone.json()["undone"] is True
    assert api.get(f"/api/v1/project-tasks/{design.pk}/").json()["start_date"] == "2027-01-04"


def test_moves_are_tenant_scoped_and_need_a_signed_in_member(client_for, tenant_a, tenant_b, admin_of, chain):
    design = chain["design"]
    stranger = client_for(tenant_b, admin_of(tenant_b))
    anonymous = client_for(tenant_a)
    body = {"start_date": "2027-01-06", "end_date": "2027-01-12"}

    other_tenant = stranger.post(f"/api/v1/project-tasks/{design.pk}/move", body, content_type="application/json")
    nobody = anonymous.post(f"/api/v1/project-tasks/{design.pk}/move", body, content_type="application/json")
    move = (
        client_for(tenant_a, chain["actor"])
        .post(f"/api/v1/project-tasks/{design.pk}/move", body, content_type="application/json")
        .json()["move"]
    )
    undo_elsewhere = stranger.post(f"/api/v1/project-task-moves/{move}/undo")

    assert other_tenant.status_code == 404
    assert nobody.status_code == 401
    assert undo_elsewhere.status_code == 404
    with tenant_context(tenant_a):
        assert ProjectTask.objects.get(pk=design.pk).start_date == D(2027, 1, 6)


def test_moves_older_than_the_undo_window_cannot_be_undone_and_are_pruned(tenant_a, tenant_b, chain, admin_of):
    import datetime as dt

    from django.utils import timezone

    from crm_apps.modules.projecttasks.services import MOVE_UNDO_DAYS, task_moves_prune
    from crm_apps.modules.projecttasks.tasks import moves_prune_all_task

    with tenant_context(tenant_a):
        old = task_move(actor=chain["actor"], task_id=chain["free"].pk, start_date="2027-01-05", end_date="2027-01-06")
        recent = task_move(
            actor=chain["actor"], task_id=chain["free"].pk, start_date="2027-01-06", end_date="2027-01-07"
        )
        TaskMove.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - dt.timedelta(days=MOVE_UNDO_DAYS, hours=1)
        )
        with pytest.raises(ValidationError) as too_old:
            task_move_undo(actor=chain["actor"], move_id=old.pk)
        assert too_old.value.message_dict == {"move": ["This move is too old to be undone."]}
    with tenant_context(tenant_b):
        other_actor = admin_of(tenant_b)
        other_project = project_make(other_actor)
        other_task = task_make(other_actor, other_project, "Elsewhere", D(2027, 1, 4), D(2027, 1, 5))
        elsewhere = task_move(actor=other_actor, task_id=other_task.pk, start_date="2027-01-05", end_date="2027-01-06")
        TaskMove.objects.filter(pk=elsewhere.pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    # the daily beat task fans out to every tenant, each pruning only its own old moves
    assert moves_prune_all_task.delay().get() >= 2
    with tenant_context(tenant_a):
        assert list(TaskMove.objects.values_list("pk", flat=True)) == [recent.pk]
        assert task_moves_prune() == 0
    with tenant_context(tenant_b):
        assert TaskMove.objects.filter(pk=elsewhere.pk).exists()
