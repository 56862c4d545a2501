"""Builders shared by the projects tests (call inside the tenant's schema)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from crm_apps.engine import registry
from crm_apps.engine.services import record_create

D = dt.date


def project_make(actor: Any, **data: Any) -> Any:
    return record_create(spec=registry.get("projects"), actor=actor, data={"name": "Rollout", **data})


def task_make(actor: Any, project: Any, name: str, start: dt.date | None, end: dt.date | None, **data: Any) -> Any:
    return record_create(
        spec=registry.get("project-tasks"),
        actor=actor,
        data={
            "name": name,
            "project": project.pk if project else None,
            "start_date": start.isoformat() if start else None,
            "end_date": end.isoformat() if end else None,
            **data,
        },
    )


def reload(record: Any) -> Any:
    return type(record).objects.get(pk=record.pk)
