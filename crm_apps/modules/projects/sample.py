"""Demo projects with tasks (dependencies, planned hours) and milestones (`manage.py seed_demo`):
2 projects, 7 tasks, 3 milestones."""

from __future__ import annotations

import datetime as dt

from crm_apps.engine.sample_data import SampleContext

# (name, offset days, duration days, hours, depends on (indexes), progress, status)
PLAN = [
    ("Kick-off workshop", 0, 1, "6", [], 100, "Completed"),
    ("Requirements", 1, 5, "30", [0], 60, "In progress"),
    ("Configuration", 6, 10, "60", [1], 0, "Not started"),
    ("Training", 16, 3, "18", [2], 0, "Not started"),
]
PLAN_SMALL = [
    ("Site survey", 0, 2, "8", [], 0, "Not started"),
    ("Installation", 3, 4, "24", [0], 0, "Not started"),
    ("Hand-over", 8, 1, "3", [1], 0, "Not started"),
]


def projects_sample(ctx: SampleContext) -> None:
    organizations = ctx.records.get("organizations", [])
    deals = ctx.records.get("deals", [])
    for index, (name, days_ago) in enumerate([("rollout", 7), ("office installation", -14)]):
        org = organizations[index % len(organizations)] if organizations else None
        ctx.make(
            "projects",
            {
                "name": f"{org.name} – {name}" if org else name.capitalize(),
                "status": "In progress" if days_ago > 0 else "Initiated",
                "priority": "High" if index == 0 else "Normal",
                "type": "Operative",
                "organization": org,
                "deal": deals[index] if len(deals) > index else None,
                "start_date": (ctx.today - dt.timedelta(days=days_ago)).isoformat(),
                "budget": "25000.00" if index == 0 else "4800.00",
            },
        )


def tasks_sample(ctx: SampleContext) -> None:
    projects = ctx.records.get("projects", [])
    for project, plan in zip(projects, [PLAN, PLAN_SMALL], strict=False):
        made: list = []
        for name, offset, duration, hours, depends, progress, status in plan:
            start = project.start_date + dt.timedelta(days=offset)
            made.append(
                ctx.make(
                    "project-tasks",
                    {
                        "name": name,
                        "project": project,
                        "status": status,
                        "progress": progress,
                        "start_date": start.isoformat(),
                        "end_date": (start + dt.timedelta(days=duration - 1)).isoformat(),
                        "hours_planned": hours,
                        "depends_on": [made[i].pk for i in depends],
                    },
                )
            )


def milestones_sample(ctx: SampleContext) -> None:
    projects = ctx.records.get("projects", [])
    if not projects:
        return
    first = projects[0]
    ctx.make(
        "project-milestones",
        {
            "name": "Design approved",
            "project": first,
            "date": (first.start_date + dt.timedelta(days=6)).isoformat(),
            "reached": True,
        },
    )
    ctx.make(
        "project-milestones",
        {"name": "Go-live", "project": first, "date": (first.start_date + dt.timedelta(days=19)).isoformat()},
    )
    if len(projects) > 1:
        second = projects[1]
        ctx.make(
            "project-milestones",
            {"name": "Hand-over", "project": second, "date": (second.start_date + dt.timedelta(days=8)).isoformat()},
        )
