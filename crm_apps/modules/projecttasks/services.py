"""Project task behaviour: finish-to-start dependencies without cycles, moving a task with the dependants it
pushes (and the undo of that move), the project's progress kept in step."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access.models import Member
from crm_apps.engine import events, registry
from crm_apps.engine.services import access_record_for_update, record_update
from crm_apps.modules.projects.services import project_progress_refresh
from crm_apps.modules.projecttasks.models import ProjectTask, TaskMove

MODULE = "project-tasks"
# A reschedule touches at most this many tasks (a project's whole chain, in practice).
MAX_MOVED = 500


def _spec() -> Any:
    return registry.get(MODULE)


def _live_tasks(project_id: Any) -> dict[Any, ProjectTask]:
    return {
        t.pk: t
        for t in _spec()
        .records()
        .filter(project_id=project_id, deleted_at__isnull=True)
        .only("id", "name", "number", "depends_on", "start_date", "end_date", "project_id")
    }


def dependency_cycle(*, graph: dict[Any, list[Any]], start: Any) -> list[Any] | None:
    """A path start -> ... -> start following "depends on" edges, or None (depth-first, iterative)."""
    stack: list[tuple[Any, list[Any]]] = [(start, [start])]
    seen: set[Any] = set()
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, []):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def task_clean(task: ProjectTask) -> None:
    """A task ends on or after its start; it depends only on live tasks of its own project, never on
    itself, and never in a cycle (A after B after A): all refused with a message on the field. Ids it
    already depended on in the same project are kept even when that task has gone to the recycle bin
    since (it may come back), so such a task's other fields can still be changed."""
    errors: dict[str, list[str]] = {}
    if task.start_date and task.end_date and task.end_date < task.start_date:
        errors["end_date"] = [_("The end date cannot be before the start date.")]
    previous_project, previous_depends = None, []
    if not task._state.adding:
        stored = ProjectTask.objects.filter(pk=task.pk).values_list("project_id", "depends_on").first()
        if stored is not None:
            previous_project, previous_depends = stored[0], list(stored[1] or [])
        # The project the task had before this save: its progress changes too when the task moves away.
        task._previous_project_id = previous_project  # type: ignore[attr-defined]
    depends = list(task.depends_on or [])
    if depends:
        kept = previous_depends if previous_project == task.project_id else []
        errors.update(_dependency_errors(task, depends, kept))
    if errors:
        raise ValidationError(errors)


def _dependency_errors(task: ProjectTask, depends: list[Any], kept: list[Any]) -> dict[str, list[str]]:
    if task.project_id is None:
        return {"depends_on": [_("Only a task of a project can depend on other tasks.")]}
    if task.pk in depends:
        return {"depends_on": [_("A task cannot depend on itself.")]}
    tasks = _live_tasks(task.project_id)
    unknown = [str(d) for d in depends if d not in tasks and d not in kept]
    if unknown:
        return {
            "depends_on": [
                _("Not a task of this project: %(ids)s.") % {"ids": ", ".join(unknown)},
            ]
        }
    graph = {pk: list(t.depends_on or []) for pk, t in tasks.items()}
    graph[task.pk] = depends
    cycle = dependency_cycle(graph=graph, start=task.pk)
    if cycle:
        names = [str(task.name) if pk == task.pk else str(tasks[pk].name) for pk in cycle]
        return {"depends_on": [_("These dependencies make a cycle: %(chain)s.") % {"chain": " → ".join(names)}]}
    return {}


def task_after_save(task: ProjectTask, actor: Any) -> None:
    """The project's progress follows its tasks (and the previous project's, when the task moved)."""
    project_progress_refresh(project_ids=[task.project_id, getattr(task, "_previous_project_id", None)])


def tasks_deleted(module: str, event: str, ids: list[str]) -> None:
    """A task moved to the recycle bin leaves its project's roll-up, and is back in it when restored
    (engine record events)."""
    if module != MODULE or event not in (events.DELETED, events.RESTORED):
        return
    project_ids = ProjectTask.objects.filter(pk__in=ids).values_list("project_id", flat=True)
    project_progress_refresh(project_ids=list(project_ids))


# ---------------------------------------------------------------------------------------------
# Moving a task with its dependants


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _parse_dates(start: Any, end: Any) -> tuple[dt.date, dt.date]:
    errors: dict[str, list[str]] = {}
    parsed: list[dt.date | None] = []
    for name, value in (("start_date", start), ("end_date", end)):
        try:
            parsed.append(value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)))
        except (TypeError, ValueError):
            errors[name] = [_("Enter a valid date.")]
            parsed.append(None)
    new_start, new_end = parsed
    if new_start and new_end and new_end < new_start:
        errors["end_date"] = [_("The end date cannot be before the start date.")]
    if errors:
        raise ValidationError(errors)
    assert new_start and new_end
    return new_start, new_end


def reschedule_plan(
    *, tasks: dict[Any, ProjectTask], moved_id: Any, start: dt.date, end: dt.date
) -> dict[Any, tuple[dt.date, dt.date]]:
    """The new (start, end) of the moved task and of every dependant that would otherwise start on or
    before the end of a task it depends on: pushed to the day after, keeping its length. Tasks are only
    pushed later, never pulled earlier; tasks without dates stay where they are."""
    dependants: dict[Any, list[Any]] = {}
    for pk, task in tasks.items():
        for before in task.depends_on or []:
            dependants.setdefault(before, []).append(pk)
    dates = {pk: (t.start_date, t.end_date) for pk, t in tasks.items()}
    dates[moved_id] = (start, end)
    plan: dict[Any, tuple[dt.date, dt.date]] = {moved_id: (start, end)}
    queue = [moved_id]
    while queue:
        current = queue.pop(0)
        current_end = dates[current][1]
        if current_end is None:
            continue
        for pk in dependants.get(current, []):
            dep_start, dep_end = dates[pk]
            if dep_start is None or dep_start > current_end:
                continue
            shift = (current_end + dt.timedelta(days=1)) - dep_start
            new = (dep_start + shift, (dep_end or dep_start) + shift)
            dates[pk] = plan[pk] = new
            queue.append(pk)
            if len(plan) > MAX_MOVED:
                raise ValidationError({"start_date": [_("This move would reschedule too many tasks.")]})
    return plan


@transaction.atomic
def task_move(*, actor: Member, task_id: Any, start_date: Any, end_date: Any) -> TaskMove:
    """Move (or resize) a task; dependants whose finish-to-start rule the move would break move later by
    as much as needed, each through record_update (rights, audit, timeline). A task may not start on or
    before the end of a task it depends on. Returns the move (what moved, before and after) for its undo."""
    spec = _spec()
    task = access_record_for_update(spec=spec, actor=actor, record_id=task_id)
    start, end = _parse_dates(start_date, end_date)
    if task.project_id is None:
        tasks = {task.pk: task}
    else:
        tasks = _live_tasks(task.project_id)
        tasks[task.pk] = task
    late = [
        tasks[pk]
        for pk in task.depends_on or []
        if pk in tasks and tasks[pk].end_date is not None and tasks[pk].end_date >= start
    ]
    if late:
        first = max(late, key=lambda t: t.end_date)
        raise ValidationError(
            {
                "start_date": [
                    _("“%(task)s” must end first: start after %(date)s.")
                    % {"task": first.name, "date": first.end_date.isoformat()}
                ]
            }
        )
    plan = reschedule_plan(tasks=tasks, moved_id=task.pk, start=start, end=end)
    changes = []
    for pk, (new_start, new_end) in plan.items():
        before = tasks[pk]
        if (before.start_date, before.end_date) == (new_start, new_end):
            continue
        changes.append(
            {
                "task": str(pk),
                "name": before.name,
                "before": [_iso(before.start_date), _iso(before.end_date)],
                "after": [_iso(new_start), _iso(new_end)],
            }
        )
        record_update(
            spec=spec, actor=actor, record=before, data={"start_date": _iso(new_start), "end_date": _iso(new_end)}
        )
    return TaskMove.objects.create(actor=actor, project_id=task.project_id, changes=changes)


@transaction.atomic
def task_move_undo(*, actor: Member, move_id: Any) -> TaskMove:
    """Put the tasks of a move back where they were. Only the member who moved them may, once, and only
    while no task of the move has been rescheduled since (else nothing changes: a 400 naming the task)."""
    try:
        pk = uuid.UUID(str(move_id))
    except ValueError as exc:
        raise TaskMove.DoesNotExist from exc
    move = TaskMove.objects.select_for_update().filter(pk=pk).first()
    if move is None or move.actor_id != actor.pk:
        raise TaskMove.DoesNotExist
    if move.undone_at is not None:
        raise ValidationError({"move": [_("This move was already undone.")]})
    if move.created_at < timezone.now() - dt.timedelta(days=MOVE_UNDO_DAYS):
        raise ValidationError({"move": [_("This move is too old to be undone.")]})
    spec = _spec()
    current: list[tuple[dict[str, Any], Any]] = []
    for change in move.changes:
        try:
            task = access_record_for_update(spec=spec, actor=actor, record_id=change["task"])
        except ProjectTask.DoesNotExist as exc:
            raise ValidationError({"move": [_("“%(task)s” no longer exists.") % {"task": change["name"]}]}) from exc
        if [_iso(task.start_date), _iso(task.end_date)] != change["after"]:
            raise ValidationError(
                {"move": [_("“%(task)s” was rescheduled since; undo is no longer possible.") % {"task": task.name}]}
            )
        current.append((change, task))
    for change, task in reversed(current):
        start, end = change["before"]
        record_update(spec=spec, actor=actor, record=task, data={"start_date": start, "end_date": end})
    move.undone_at = timezone.now()
    move.save(update_fields=["undone_at"])
    return move


def access_move(*, actor: Member, move_id: Any) -> TaskMove:
    """A move of this member (the same 'not found' for someone else's)."""
    try:
        pk = uuid.UUID(str(move_id))
    except ValueError as exc:
        raise TaskMove.DoesNotExist from exc
    move = TaskMove.objects.filter(pk=pk, actor=actor).first()
    if move is None:
        raise TaskMove.DoesNotExist
    return move


# How long a move can be undone; older moves are deleted by the daily beat task.
MOVE_UNDO_DAYS = 30


def task_moves_prune(*, now: dt.datetime | None = None) -> int:
    """Forget the moves of this tenant older than the undo window; returns how many."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=MOVE_UNDO_DAYS)
    deleted, _by_model = TaskMove.objects.filter(created_at__lt=cutoff).delete()
    return deleted
