from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.migrate_fast import (
    MigrationRunBusy,
    Outcome,
    Runner,
    migration_targets,
    tenant_migrations_run,
    tenant_migrations_status,
)


class Command(BaseCommand):
    help = (
        "Apply pending tenant migrations to every tenant and pool schema, fast: the SQL is computed once per "
        "migration state and run in parallel connections (ADR 0009). Resumable; a failing schema is recorded in "
        "the operator console (Tenant migrations) and does not stop the others. Run `migrate_schemas --shared` "
        "first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--jobs", type=int, default=4, help="Parallel database connections (default 4).")
        parser.add_argument("--schema", action="append", dest="schemas", help="Only this schema (repeatable).")
        parser.add_argument(
            "--executor", action="store_true", help="Use Django's executor for every schema (no SQL fast path)."
        )
        parser.add_argument("--plan", action="store_true", help="Show the plans and their SQL; change nothing.")
        parser.add_argument("--status", action="store_true", help="Show the status rows of this code's version.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["status"]:
            status = tenant_migrations_status()
            self.stdout.write(", ".join(f"{k} {v}" for k, v in status.items()) or "no migration run for this version")
            return
        if options["plan"]:
            self._plan(options["schemas"])
            return
        verbosity = int(options["verbosity"])
        started = time.monotonic()
        failed: list[Outcome] = []

        def progress(outcome: Outcome, finished: int, total: int) -> None:
            if outcome.status == "failed":
                failed.append(outcome)
                self.stderr.write(f"{outcome.target.schema}: FAILED {outcome.error.splitlines()[0][:300]}")
            if verbosity >= 1 and (finished == total or finished % 100 == 0 or verbosity >= 2):
                self.stdout.write(f"{finished}/{total} schemas ({time.monotonic() - started:.1f}s)")

        try:
            outcomes = tenant_migrations_run(
                schemas=options["schemas"], jobs=options["jobs"], force_executor=options["executor"], progress=progress
            )
        except MigrationRunBusy as exc:
            raise CommandError(str(exc)) from exc
        counts: dict[str, int] = {}
        for outcome in outcomes:
            key = f"{outcome.status} ({outcome.method})" if outcome.method else outcome.status
            counts[key] = counts.get(key, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no schemas"
        if verbosity >= 1:
            self.stdout.write(f"Tenant migrations: {summary} in {time.monotonic() - started:.1f}s")
        if failed:
            names = ", ".join(o.target.schema for o in failed[:20])
            raise CommandError(f"{len(failed)} schema(s) failed ({names}); see Tenant migrations in the admin")

    def _plan(self, schemas: list[str] | None) -> None:
        runner = Runner(version="plan")
        plans, current = runner.plans(migration_targets(schemas=schemas))
        self.stdout.write(f"{len(current)} schema(s) current")
        for plan in plans:
            self.stdout.write(f"-- {len(plan.schemas)} schema(s), e.g. {plan.schemas[0].schema}:")
            for step in plan.steps:
                name = f"{step.migration.app_label}.{step.migration.name}"
                if step.sql is None:
                    self.stdout.write(f"-- {name}: Django's executor in each schema (RunPython or custom operation)")
                else:
                    self.stdout.write(f"-- {name}\n{step.sql}")
