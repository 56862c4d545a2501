"""Import writes: upload, mapping, dry run, run, cancel, undo; saved mappings; background exports.

Who may: importing needs the `can_import` privilege and the right to view the module; the rows then meet
the importer's own rights (create, edit the matched record, field rules) in `runner.Importer`. An import
belongs to the member who uploaded it; administrators (manage_settings) see and undo every import.
"""

from __future__ import annotations

import logging
import time
from typing import IO, Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg import sql

from billing import entitlements
from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.engine import metadata, registry
from crm_apps.engine.services.values import search_vector_refresh
from crm_apps.imports import files, mapping
from crm_apps.imports.models import DedupeMode, ExportJob, ImportEntry, ImportJob, SavedMapping
from crm_apps.imports.runner import Cancelled, Outcome, importer_for

logger = logging.getLogger(__name__)

PROGRESS_SECONDS = 24 * 3600


def can_import(*, actor: Member) -> bool:
    return visibility.has_privilege(actor=actor, privilege=Privilege.CAN_IMPORT)


def is_import_admin(actor: Member) -> bool:
    return visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS)


def _spec_for(actor: Member, module: str) -> Any:
    try:
        spec = registry.get(module)
    except registry.UnknownModule as exc:
        raise ValidationError({"module": [_("Unknown module.")]}) from exc
    if not visibility.can_view_module(actor=actor, spec=spec):
        raise ValidationError({"module": [_("Unknown module.")]})
    return spec


# --- upload -----------------------------------------------------------------------------------------


def import_upload(
    *,
    actor: Member,
    module: str,
    file_name: str,
    content: bytes | IO[bytes],
    encoding: str = "",
    delimiter: str = "",
    sheet: str = "",
    saved_mapping: SavedMapping | None = None,
) -> ImportJob:
    """Store an uploaded file in the tenant's storage, read it (format, encoding and delimiter detected
    unless given) and guess the mapping; nothing is imported yet."""
    if not can_import(actor=actor):
        raise PermissionDenied
    spec = _spec_for(actor, module)
    data = content if isinstance(content, bytes) else content.read()
    if not data:
        raise ValidationError({"file": [_("The file is empty.")]})
    if len(data) > files.MAX_BYTES:
        raise ValidationError({"file": [_("Files of at most 100 MB can be imported.")]})
    if encoding and encoding not in files.ENCODINGS:
        raise ValidationError({"encoding": [_("Choose one of the listed encodings.")]})
    if delimiter and delimiter not in files.DELIMITERS:
        raise ValidationError({"delimiter": [_("Choose a delimiter: comma, semicolon, tab or vertical bar.")]})
    from crm_apps.modules.documents.files import safe_name

    file_format = files.detect_format(file_name, data[:8192])
    try:
        sheet_data = files.read(
            data,
            file_format=file_format,
            encoding=encoding,
            delimiter=delimiter,
            sheet=sheet,
            module=spec.key,
            keep=files.PREVIEW_ROWS,
        )
    except files.FileProblem as exc:
        raise ValidationError({"file": [str(exc)]}) from exc
    entitlements.storage_check(adding_bytes=len(data))
    storage_name = files.store(data)
    job = ImportJob(
        module=spec.key,
        created_by=actor,
        file_name=safe_name(file_name or "import"),
        storage_name=storage_name,
        file_format=file_format,
        size=len(data),
        encoding=sheet_data.encoding,
        delimiter=sheet_data.delimiter,
        sheet=sheet_data.sheet,
        sheets=sheet_data.sheets,
        headers=sheet_data.headers,
        total_rows=sheet_data.total,
    )
    if saved_mapping is not None and saved_mapping.module == spec.key:
        _apply_saved(job, saved_mapping, spec)
    else:
        job.mapping = mapping.guess(spec, sheet_data.headers)
        job.dedupe_fields = ["email"] if "email" in job.mapping.values() else []
    job.save()
    return job


def _apply_saved(job: ImportJob, saved: SavedMapping, spec: Any) -> None:
    job.mapping = mapping.from_saved(job.headers, saved.columns, spec)
    known = mapping.targets(spec)
    job.defaults = {k: v for k, v in saved.defaults.items() if k in known}
    job.value_map = {k: v for k, v in saved.value_map.items() if k in known}
    job.dedupe_fields = list(saved.dedupe_fields)
    job.dedupe_mode = saved.dedupe_mode
    job.options = {k: v for k, v in saved.options.items() if k in ("create_references", "owner_id", "create_values")}


def import_reread(*, actor: Member, job: ImportJob, encoding: str, delimiter: str, sheet: str) -> ImportJob:
    """Read the stored file again with another encoding, delimiter or sheet (the mapping is guessed again
    when the columns changed)."""
    _editable(actor, job)
    if encoding and encoding not in files.ENCODINGS:
        raise ValidationError({"encoding": [_("Choose one of the listed encodings.")]})
    if delimiter and delimiter not in files.DELIMITERS:
        raise ValidationError({"delimiter": [_("Choose a delimiter: comma, semicolon, tab or vertical bar.")]})
    try:
        sheet_data = files.read(
            files.load(job.storage_name),
            file_format=job.file_format,
            encoding=encoding,
            delimiter=delimiter,
            sheet=sheet,
            module=job.module,
            keep=files.PREVIEW_ROWS,
        )
    except files.FileProblem as exc:
        raise ValidationError({"file": [str(exc)]}) from exc
    if sheet_data.headers != job.headers:
        job.mapping = mapping.guess(registry.get(job.module), sheet_data.headers)
    job.headers = sheet_data.headers
    job.total_rows = sheet_data.total
    job.encoding, job.delimiter, job.sheet = sheet_data.encoding, sheet_data.delimiter, sheet_data.sheet
    job.status = ImportJob.Status.UPLOADED
    job.report = {}
    job.save()
    return job


def _editable(actor: Member, job: ImportJob) -> None:
    if job.created_by_id != actor.pk:
        raise PermissionDenied
    if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.VALIDATED):
        raise ValidationError({"status": [_("This import has already run.")]})


# --- mapping ----------------------------------------------------------------------------------------


def import_configure(  # noqa: C901
    *,
    actor: Member,
    job: ImportJob,
    columns: dict[str, str],
    defaults: dict[str, Any] | None = None,
    value_map: dict[str, dict[str, str]] | None = None,
    dedupe_fields: list[str] | None = None,
    dedupe_mode: str = DedupeMode.SKIP,
    options: dict[str, Any] | None = None,
) -> ImportJob:
    """Set the column mapping (column index -> field), default values, picklist value mapping, dedupe and
    owner options; refuses unknown fields, a field mapped twice, and options the importer may not use."""
    _editable(actor, job)
    spec = registry.get(job.module)
    known = mapping.targets(spec)
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    seen: dict[str, str] = {}
    if not isinstance(columns, dict):
        raise ValidationError({"mapping": [_("Send an object of column -> field.")]})
    for column, name in columns.items():
        name = (name or "").strip() if isinstance(name, str) else ""
        if not name:
            continue
        index = _column_index(job, column)
        if index is None:
            errors[f"mapping.{column}"] = [_("The file has no such column.")]
        elif name not in known:
            errors[f"mapping.{column}"] = [_("Unknown field “%(field)s”.") % {"field": name}]
        elif name in seen:
            errors[f"mapping.{column}"] = [_("This field is already mapped to another column.")]
        else:
            clean[str(index)] = name
            seen[name] = str(index)
    if not clean and not errors:
        errors["mapping"] = [_("Map at least one column to a field.")]
    clean_defaults = {}
    for name, value in (defaults or {}).items():
        if value in (None, ""):
            continue
        if name not in known or known[name].kind == "owner":
            errors[f"defaults.{name}"] = [_("Unknown field.")]
        elif not isinstance(value, str | int | float | bool):
            errors[f"defaults.{name}"] = [_("Enter a single value.")]
        else:
            clean_defaults[name] = str(value)
    clean_values: dict[str, dict[str, str]] = {}
    for name, table in (value_map or {}).items():
        if name not in known or not known[name].picklist or not isinstance(table, dict):
            errors[f"value_map.{name}"] = [_("Not a picklist field.")]
            continue
        clean_values[name] = {str(k)[:200]: str(v)[:100] for k, v in table.items() if str(v).strip()}
    choices = dict(mapping.dedupe_choices(spec))
    fields = [f for f in (dedupe_fields or []) if f]
    for name in fields:
        if name not in choices:
            errors["dedupe"] = [_("“%(field)s” cannot be used to find duplicates.") % {"field": name}]
    if dedupe_mode not in DedupeMode.values:
        errors["dedupe_mode"] = [_("Choose skip, overwrite or fill.")]
    opts: dict[str, Any] = {}
    for key, value in (options or {}).items():
        if key == "owner_id" and value not in (None, ""):
            owner = Member.objects.filter(pk=_int(value), active=True).first()
            if owner is None:
                errors["owner"] = [_("Choose an active member.")]
            else:
                opts["owner_id"] = owner.pk
        elif key == "create_references":
            opts[key] = bool(value)
        elif key == "create_values" and value:
            if not is_import_admin(actor):
                errors["create_values"] = [_("Only administrators may create picklist values.")]
            opts[key] = True
    if errors:
        raise ValidationError(errors)
    job.mapping = clean
    job.defaults = clean_defaults
    job.value_map = clean_values
    job.dedupe_fields = list(dict.fromkeys(fields))
    job.dedupe_mode = dedupe_mode
    job.options = opts
    job.status = ImportJob.Status.UPLOADED
    job.report = {}
    job.dry_run_at = None
    job.save()
    return job


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _column_index(job: ImportJob, column: Any) -> int | None:
    """A column given by its position (0-based, as text) or by its heading."""
    text = str(column)
    if text.isdigit() and int(text) < len(job.headers):
        return int(text)
    if text in job.headers:
        return job.headers.index(text)
    return None


def mapping_save(*, actor: Member, job: ImportJob, name: str) -> SavedMapping:
    """Keep this import's mapping (by column heading) under a name, for the next file of this module."""
    if not can_import(actor=actor):
        raise PermissionDenied
    name = (name or "").strip()
    if not name or len(name) > 100 or "\x00" in name:
        raise ValidationError({"name": [_("Give the mapping a name of 1-100 characters.")]})
    columns = {job.headers[int(i)]: f for i, f in job.mapping.items() if int(i) < len(job.headers)}
    saved, _created = SavedMapping.objects.update_or_create(
        module=job.module,
        name=name,
        defaults={
            "columns": columns,
            "defaults": job.defaults,
            "value_map": job.value_map,
            "dedupe_fields": job.dedupe_fields,
            "dedupe_mode": job.dedupe_mode,
            "options": job.options,
            "created_by": actor,
        },
    )
    return saved


def mapping_delete(*, actor: Member, saved: SavedMapping) -> None:
    if saved.created_by_id != actor.pk and not is_import_admin(actor):
        raise PermissionDenied
    saved.delete()


def import_use_mapping(*, actor: Member, job: ImportJob, saved: SavedMapping) -> ImportJob:
    _editable(actor, job)
    if saved.module != job.module:
        raise ValidationError({"saved": [_("That mapping is for another module.")]})
    _apply_saved(job, saved, registry.get(job.module))
    job.save()
    return job


# --- running ----------------------------------------------------------------------------------------


def progress_key(job_id: int) -> str:
    return f"imports:progress:{job_id}"


def progress_get(job: ImportJob) -> dict[str, Any]:
    """The running phase: rows done, total, rows per second and seconds left (from the worker's reports)."""
    data = cache.get(progress_key(job.pk)) or {}
    total = int(data.get("total") or job.total_rows or 0)
    done = int(data.get("done") or (job.total_rows if job.finished else 0))
    elapsed = max(time.time() - float(data.get("started") or time.time()), 0.001)
    rate = done / elapsed if data and done else 0.0
    return {
        "phase": data.get("phase") or ("done" if job.finished else ""),
        "done": done,
        "total": total,
        "percent": int(done * 100 / total) if total else (100 if job.finished else 0),
        "rows_per_second": round(rate, 1),
        "eta_seconds": int((total - done) / rate) if rate and total > done else 0,
    }


def _reporter(job: ImportJob) -> Any:
    started = time.time()
    last = [0.0]
    phases = {"checking": 0, "writing": 1}

    def report(phase: str, done: int, total: int) -> None:
        now = time.time()
        if now - last[0] < 0.5 and done < total:
            return
        last[0] = now
        # Two phases over the same rows: checking is the first half of the bar, writing the second.
        rows = job.total_rows or total or 1
        overall = int(rows * (phases.get(phase, 0) + (done / total if total else 1)) / 2)
        try:
            cache.set(
                progress_key(job.pk),
                {"phase": phase, "done": overall, "total": rows, "started": started},
                PROGRESS_SECONDS,
            )
        except Exception:
            logger.warning("import progress not reported", exc_info=True)

    return report


def _queue(job: ImportJob, task_name: str) -> None:
    from crm_apps.imports import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.delay(job.pk))


def import_dry_run_start(*, actor: Member, job: ImportJob) -> ImportJob:
    """Check every row as the run would, in the background, and report (nothing is kept)."""
    _editable(actor, job)
    if not job.mapping:
        raise ValidationError({"mapping": [_("Map at least one column to a field.")]})
    job.status = ImportJob.Status.VALIDATING
    job.cancel_requested = False
    job.save(update_fields=["status", "cancel_requested"])
    cache.delete(progress_key(job.pk))
    _queue(job, "import_dry_run_task")
    return job


def import_start(*, actor: Member, job: ImportJob) -> ImportJob:
    """Queue the run; the plan's record limit is checked first against the rows that would create records
    (the last dry run's figure, else every row)."""
    _editable(actor, job)
    if not job.mapping:
        raise ValidationError({"mapping": [_("Map at least one column to a field.")]})
    if not can_import(actor=actor):
        raise PermissionDenied
    adding = int(job.report.get("created", job.total_rows)) + int(job.report.get("references_created", 0))
    _records_limit_check(adding)
    job.status = ImportJob.Status.QUEUED
    job.cancel_requested = False
    job.save(update_fields=["status", "cancel_requested"])
    cache.delete(progress_key(job.pk))
    _queue(job, "import_run_task")
    return job


def _records_limit_check(adding: int) -> None:
    """The plan's record limit, asked without counting the records in (the run counts them when it
    writes): a clear error before anything is queued."""
    ent = entitlements.entitlements_for(entitlements.current_tenant())
    if ent is None or ent.max_records is None or adding <= 0:
        return
    from billing.selectors import record_count

    used = record_count(str(getattr(connection, "schema_name", "")))
    if used + adding > ent.max_records:
        raise entitlements.PlanLimitReached(
            _(
                "Your plan (%(plan)s) allows %(limit)s records and %(used)s are in use, so this import's "
                "%(adding)s new records do not fit. Import fewer rows, delete records you no longer need, "
                "or an administrator can upgrade on the billing page."
            )
            % {"plan": ent.plan_name, "limit": f"{ent.max_records:,}", "used": f"{used:,}", "adding": f"{adding:,}"},
            limit="records",
        )


def import_cancel(*, actor: Member, job: ImportJob) -> ImportJob:
    """Ask a queued or running import (or dry run) to stop: the run rolls back, nothing is imported."""
    if job.created_by_id != actor.pk and not is_import_admin(actor):
        raise PermissionDenied
    if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING, ImportJob.Status.VALIDATING):
        raise ValidationError({"status": [_("Only a queued or running import can be cancelled.")]})
    ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)
    job.cancel_requested = True
    return job


def _rows(job: ImportJob) -> files.Sheet:
    return files.read(
        files.load(job.storage_name),
        file_format=job.file_format,
        encoding=job.encoding,
        delimiter=job.delimiter,
        sheet=job.sheet,
        module=job.module,
    )


class _DryRunRollback(Exception):
    pass


def import_execute(*, job_id: int, dry_run: bool) -> ImportJob:
    """The task's work: the whole import in one transaction (rolled back for a dry run, a cancel or an
    error), then the counts, the report and the error file."""
    job = ImportJob.objects.select_related("created_by__user").get(pk=job_id)
    expected = ImportJob.Status.VALIDATING if dry_run else ImportJob.Status.QUEUED
    if job.status != expected:
        return job
    actor = job.created_by
    started = time.monotonic()
    if not dry_run:
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, started_at=timezone.now())
        job.status = ImportJob.Status.RUNNING
    outcome: Outcome | None = None
    failure = ""
    cancelled = False
    sheet = None
    metadata_touched = False
    try:
        sheet = _rows(job)
        with transaction.atomic():
            importer = importer_for(job=job, actor=actor, rows=sheet.rows, progress=_reporter(job))
            outcome = importer.run()
            metadata_touched = bool(outcome.values_created)
            if dry_run:
                raise _DryRunRollback
            _versions_remember(job)
            audit.audit_log(
                action=audit.IMPORT,
                actor=actor,
                module=job.module,
                record_id=job.pk,
                record_label=job.file_name,
                details={"file": job.file_name, "rows": len(sheet.rows), **outcome.counts()},
            )
            _finish(job, outcome, sheet, dry_run=False, seconds=time.monotonic() - started)
    except _DryRunRollback:
        if metadata_touched:
            metadata.metadata_changed()  # picklist values created for the check were rolled back
        assert outcome is not None and sheet is not None
        _finish(job, outcome, sheet, dry_run=True, seconds=time.monotonic() - started)
    except Cancelled:
        cancelled = True
    except files.FileProblem as exc:
        failure = str(exc)
    except (ValidationError, PermissionDenied) as exc:
        failure = " ".join(exc.messages) if isinstance(exc, ValidationError) else (str(exc) or _("Not allowed."))
    except Exception:
        logger.exception("import %s failed", job.pk)
        failure = _("The import stopped because of an unexpected error; nothing was imported.")
    if cancelled or failure:
        status = ImportJob.Status.CANCELLED if cancelled else ImportJob.Status.FAILED
        if dry_run:
            status = ImportJob.Status.UPLOADED
        ImportJob.objects.filter(pk=job.pk).update(
            status=status,
            message=failure,
            finished_at=None if dry_run else timezone.now(),
            cancel_requested=False,
        )
        cache.delete(progress_key(job.pk))
    job.refresh_from_db()
    return job


def _finish(job: ImportJob, outcome: Outcome, sheet: files.Sheet, *, dry_run: bool, seconds: float) -> None:
    failed = [(e.row - 1, e.text()) for e in outcome.errors]
    error_name, extension = "", ""
    if failed:
        content, extension = files.error_file(sheet, file_format=job.file_format, failed=failed)
        error_name = files.store(content, kind="errors")
    if job.error_storage_name:
        files.remove(job.error_storage_name)
    counts = outcome.counts()
    updates: dict[str, Any] = {
        "report": {**outcome.report(), "dry_run": dry_run, "seconds": round(seconds, 2)},
        "error_storage_name": error_name,
        "error_extension": extension,
        "message": "",
        "cancel_requested": False,
    }
    if dry_run:
        updates.update(status=ImportJob.Status.VALIDATED, dry_run_at=timezone.now())
    else:
        updates.update(
            status=ImportJob.Status.DONE,
            finished_at=timezone.now(),
            processed=len(sheet.rows),
            seconds=round(seconds, 2),
            **counts,
        )
    ImportJob.objects.filter(pk=job.pk).update(**updates)
    try:
        cache.set(
            progress_key(job.pk),
            {"phase": "done", "done": len(sheet.rows), "total": len(sheet.rows), "started": time.time() - seconds},
            PROGRESS_SECONDS,
        )
    except Exception:
        logger.warning("import progress not reported", exc_info=True)


# --- undo -------------------------------------------------------------------------------------------


def import_undo_start(*, actor: Member, job: ImportJob) -> ImportJob:
    """Queue the undo of a finished import (its importer or an administrator)."""
    if job.created_by_id != actor.pk and not is_import_admin(actor):
        raise PermissionDenied
    if not job.undoable:
        raise ValidationError({"status": [_("Only a finished import that changed records can be undone.")]})
    job.status = ImportJob.Status.UNDOING
    job.undone_by = actor
    job.save(update_fields=["status", "undone_by"])
    _queue(job, "import_undo_task")
    return job


def import_undo_execute(*, job_id: int) -> ImportJob:
    """Created records go to the recycle bin, changed ones get their imported fields' values back, each
    kind in a few statements whatever the size; one audit event."""
    job = ImportJob.objects.select_related("undone_by__user").get(pk=job_id)
    if job.status != ImportJob.Status.UNDOING:
        return job
    actor = job.undone_by or job.created_by
    try:
        with transaction.atomic():
            counts = _undo(job)
            ImportJob.objects.filter(pk=job.pk).update(report={**job.report, "undo": counts})
            audit.audit_log(
                action=audit.IMPORT_UNDONE,
                actor=actor,
                module=job.module,
                record_id=job.pk,
                record_label=job.file_name,
                details={"file": job.file_name, **counts},
            )
            ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.UNDONE, undone_at=timezone.now())
    except Exception:
        logger.exception("undo of import %s failed", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.DONE, message=_("The undo failed; nothing was changed. Try again.")
        )
    job.refresh_from_db()
    return job


def _modules_of(job: ImportJob) -> list[str]:
    return list(ImportEntry.objects.filter(job=job).values_list("module", flat=True).distinct())


def _versions_remember(job: ImportJob) -> None:
    """Keep each written record's version as the import leaves it (one statement per module), so undo
    can tell the records someone edited afterwards. The column-wise path writes the versions with the
    entries; this fills the others."""
    for module in _modules_of(job):
        table = sql.Identifier(registry.get(module).model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.cursor.execute(
                sql.SQL(
                    "UPDATE imports_importentry e SET version_after = t.version FROM {table} t "
                    "WHERE e.job_id = %s AND e.module = %s AND t.id = e.record_id AND e.version_after IS NULL"
                ).format(table=table),
                [job.pk, module],
            )


# A record is undone only while it is as the import left it: entries without a version (imports from
# before versions were kept) are undone as before.
UNCHANGED = sql.SQL("(e.version_after IS NULL OR t.version = e.version_after)")


def _undo(job: ImportJob) -> dict[str, int]:
    from crm_apps.engine.models import TimelineEntry

    counts = {"deleted": 0, "restored": 0, "kept": 0}
    now = timezone.now()
    actor_id = job.undone_by_id or job.created_by_id
    for module in _modules_of(job):
        spec = registry.get(module)
        table = sql.Identifier(spec.model._meta.db_table)
        with connection.cursor() as cursor:
            raw: Any = cursor.cursor
            raw.execute(
                sql.SQL(
                    "SELECT count(*) FROM imports_importentry e JOIN {table} t ON t.id = e.record_id "
                    "WHERE e.job_id = %s AND e.module = %s AND t.deleted_at IS NULL AND NOT {unchanged}"
                ).format(table=table, unchanged=UNCHANGED),
                [job.pk, module],
            )
            counts["kept"] += int(raw.fetchone()[0])
            raw.execute(
                sql.SQL(
                    "UPDATE {table} t SET deleted_at = %s, version = t.version + 1 FROM imports_importentry e "
                    "WHERE e.job_id = %s AND e.module = %s AND e.action = 'c' AND t.id = e.record_id "
                    "AND t.deleted_at IS NULL AND {unchanged}"
                ).format(table=table, unchanged=UNCHANGED),
                [now, job.pk, module],
            )
            counts["deleted"] += raw.rowcount
            columns = _restored_columns(job, module)
            if columns:
                counts["restored"] += _restore(raw, spec, table, job, module, columns, now, actor_id)
            # Timeline lines only for the records this undo touched (their stamp is this undo's `now`).
            raw.execute(
                sql.SQL(
                    "INSERT INTO engine_timelineentry (module, record_id, kind, actor_id, data, created_at) "
                    "SELECT e.module, e.record_id, CASE WHEN e.action = 'c' THEN %s ELSE %s END, %s, "
                    "jsonb_build_object('import', e.job_id, 'undo', true), %s "
                    "FROM imports_importentry e JOIN {table} t ON t.id = e.record_id "
                    "WHERE e.job_id = %s AND e.module = %s "
                    "AND ((e.action = 'c' AND t.deleted_at = %s) OR (e.action <> 'c' AND t.updated_at = %s))"
                ).format(table=table),
                [TimelineEntry.Kind.DELETED, TimelineEntry.Kind.UPDATED, actor_id, now, job.pk, module, now, now],
            )
    return counts


def _restored_columns(job: ImportJob, module: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT jsonb_object_keys(before->'cols') FROM imports_importentry "
            "WHERE job_id = %s AND module = %s AND action IN ('u', 'm') AND before IS NOT NULL",
            [job.pk, module],
        )
        return [row[0] for row in cursor.fetchall()]


def _restore(
    raw: Any, spec: Any, table: Any, job: ImportJob, module: str, columns: list[str], now: Any, actor: int
) -> int:
    """UPDATE ... FROM the entries: each imported column back to its value before (jsonb_populate_record
    casts the stored JSON to the column's type), the imported custom keys back (or removed)."""
    known = {f.column for f in spec.model._meta.concrete_fields}
    sets: list[sql.Composable] = [
        sql.SQL("{col} = CASE WHEN e.before->'cols' ? {key} THEN r.{col} ELSE t.{col} END").format(
            col=sql.Identifier(column), key=sql.Literal(column)
        )
        for column in columns
        if column in known
    ]
    sets.append(
        sql.SQL(
            "custom_data = (t.custom_data - ARRAY(SELECT jsonb_array_elements_text(e.before->'custom_keys'))) "
            "|| COALESCE(e.before->'custom', '{}'::jsonb)"
        )
    )
    sets.append(sql.SQL("version = t.version + 1, updated_at = %s, updated_by_id = %s"))
    raw.execute(
        sql.SQL(
            "UPDATE {table} t SET {sets} FROM imports_importentry e, "
            "LATERAL jsonb_populate_record(NULL::{table}, e.before->'cols') r "
            "WHERE e.job_id = %s AND e.module = %s AND e.action IN ('u', 'm') AND t.id = e.record_id "
            "AND {unchanged} RETURNING t.id"
        ).format(table=table, sets=sql.SQL(", ").join(sets), unchanged=UNCHANGED),
        [now, actor, job.pk, module],
    )
    ids = [row[0] for row in raw.fetchall()]
    search_vector_refresh(spec, ids)
    return len(ids)


# --- exports ----------------------------------------------------------------------------------------


def export_start(*, actor: Member, module: str, file_format: str, query: dict[str, str]) -> ExportJob:
    """ "Export all matching": the list's filters and search, every row, written in the background."""
    if not visibility.has_privilege(actor=actor, privilege=Privilege.CAN_EXPORT):
        raise PermissionDenied
    spec = _spec_for(actor, module)
    if file_format not in ("csv", "xlsx"):
        raise ValidationError({"format": [_("Choose CSV or XLSX.")]})
    clean = {str(k)[:100]: str(v)[:500] for k, v in list(query.items())[:40] if k != "cursor"}
    job = ExportJob.objects.create(module=spec.key, file_format=file_format, query=clean, created_by=actor)
    from crm_apps.imports import tasks

    transaction.on_commit(lambda: tasks.export_run_task.delay(job.pk))
    return job
