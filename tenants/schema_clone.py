"""Copy a tenant schema inside PostgreSQL: its structure read from the catalogs, then its rows.

Used when the warm pool is empty (ADR 0008): the template schema, kept on the current migrations by
the pool filler, is copied into the new tenant's schema in the signup transaction, which is several
times faster than running every migration. The benchmark also uses it to build thousands of tenants.

What it copies: tables (columns, types, defaults, identity, generated columns, storage, comments),
their rows and identity sequence positions, primary/unique/check/exclusion constraints, indexes,
foreign keys and triggers, with their original names, and the schema's functions.
What it refuses (`CloneUnsupported`; the caller then runs the migrations instead): views, materialised
views, partitioned or unlogged tables, inheritance, sequences that are not identity sequences, types
and domains, rules, row-level security, extended statistics, storage parameters, and any definition
that names the source schema outside the qualified names it rewrites. A test
(tenants/tests/test_schema_clone.py) compares a clone with a migrated schema object by object.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection


class CloneUnsupported(Exception):
    """The source schema holds something this module does not know how to copy faithfully."""


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


@dataclass(frozen=True)
class ClonePlan:
    """The statements that copy `source` into a schema named by the `{target}` placeholder."""

    source: str
    statements: tuple[str, ...]

    def sql_for(self, target: str) -> str:
        quoted = _q(target)
        return ";\n".join(s.replace("{target}", quoted) for s in self.statements)


_UNSUPPORTED_CHECKS = {
    "views, materialised views, partitioned or foreign tables, composite types": (
        "SELECT c.relname FROM pg_class c WHERE c.relnamespace = %(ns)s AND c.relkind NOT IN ('r', 'i', 'S')"
    ),
    "unlogged or temporary tables": (
        "SELECT c.relname FROM pg_class c WHERE c.relnamespace = %(ns)s AND c.relpersistence <> 'p'"
    ),
    "storage parameters or tablespaces": (
        "SELECT c.relname FROM pg_class c WHERE c.relnamespace = %(ns)s"
        " AND (c.reloptions IS NOT NULL OR c.reltablespace <> 0)"
    ),
    "row-level security": (
        "SELECT c.relname FROM pg_class c WHERE c.relnamespace = %(ns)s AND (c.relrowsecurity OR c.relforcerowsecurity)"
    ),
    "inheritance": (
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relnamespace = %(ns)s"
    ),
    "sequences that are not identity sequences": (
        "SELECT c.relname FROM pg_class c WHERE c.relnamespace = %(ns)s AND c.relkind = 'S' AND NOT EXISTS"
        " (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype = 'i')"
    ),
    "types or domains": (
        "SELECT t.typname FROM pg_type t WHERE t.typnamespace = %(ns)s AND t.typtype <> 'c'"
        " AND NOT (t.typcategory = 'A'"
        " AND EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = t.typelem AND e.typrelid <> 0))"
    ),
    "rules": (
        "SELECT r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE c.relnamespace = %(ns)s"
    ),
    "policies": (
        "SELECT p.polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = %(ns)s"
    ),
    "extended statistics": "SELECT s.stxname FROM pg_statistic_ext s WHERE s.stxnamespace = %(ns)s",
    "aggregates or window functions": (
        "SELECT p.proname FROM pg_proc p WHERE p.pronamespace = %(ns)s AND p.prokind IN ('a', 'w')"
    ),
    "disabled triggers": (
        "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal AND t.tgenabled <> 'O'"
    ),
}


def _refuse_unsupported(namespace: int) -> None:
    for what, sql in _UNSUPPORTED_CHECKS.items():
        with connection.cursor() as cursor:
            cursor.execute(sql, {"ns": namespace})
            found = [row[0] for row in cursor.fetchall()]
        if found:
            raise CloneUnsupported(f"{what}: {', '.join(sorted(str(f) for f in found)[:5])}")


def _source_prefix(source: str) -> re.Pattern[str]:
    """How the catalogs print `source.` in front of a name (quote_ident quotes only when needed)."""
    ident = str(_fetch("SELECT quote_ident(%s)", [source])[0][0])
    if ident.startswith('"'):
        return re.compile(re.escape(ident) + r"\.")
    return re.compile(r'(?<![\w"$])' + re.escape(ident) + r"\.")


def _tables_create(
    *, source: str, namespace: int, tables: list[str], names: tuple[re.Pattern[str], re.Pattern[str]]
) -> list[str]:
    """CREATE TABLE ... LIKE for every table; refused when a column default points into `source` (LIKE
    copies defaults as they are, so the copy would still use the source's objects)."""
    src = _q(source)
    statements = [
        f"CREATE TABLE {{target}}.{_q(table)} (LIKE {src}.{_q(table)} INCLUDING DEFAULTS"
        " INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS)"
        for table in tables
    ]
    for (default,) in _fetch(
        "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid"
        " WHERE c.relnamespace = %s",
        [namespace],
    ):
        if any(pattern.search(str(default)) for pattern in names):
            raise CloneUnsupported(f"a column default points into {source}: {default}")
    return statements


def schema_clone_plan(*, source: str) -> ClonePlan:
    """Read `source` from the catalogs (run in `public`, so its own names come out schema-qualified)."""
    rows = _fetch("SELECT oid FROM pg_namespace WHERE nspname = %s", [source])
    if not rows:
        raise CloneUnsupported(f"no schema {source}")
    namespace = int(rows[0][0])
    _refuse_unsupported(namespace)
    prefix = _source_prefix(source)
    leftover = re.compile(r"(?<![\w$])" + re.escape(source) + r"(?![\w$])")

    def retarget(sql: str) -> str:
        out = prefix.sub("{target}.", sql)
        if leftover.search(out):
            raise CloneUnsupported(f"a definition names {source} where it cannot be rewritten: {out[:200]}")
        return out

    src = _q(source)
    tables = [
        str(r[0])
        for r in _fetch(
            "SELECT relname FROM pg_class WHERE relnamespace = %s AND relkind = 'r' ORDER BY relname", [namespace]
        )
    ]
    # 1. Tables: columns, types, NOT NULL, defaults, generated columns, storage, column comments.
    statements = _tables_create(source=source, namespace=namespace, tables=tables, names=(prefix, leftover))
    # 2. Identity columns with their sequences' names and options, as pg_dump writes them.
    identities = _fetch(
        "SELECT c.relname, a.attname, a.attidentity, s.relname, q.seqstart, q.seqincrement, q.seqmin, q.seqmax,"
        " q.seqcache, q.seqcycle FROM pg_depend d"
        " JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_sequence q ON q.seqrelid = s.oid"
        " JOIN pg_class c ON c.oid = d.refobjid JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid"
        " WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'i' AND c.relnamespace = %s ORDER BY 1, 2",
        [namespace],
    )
    for table, column, kind, sequence, start, increment, minimum, maximum, cache, cycle in identities:
        generated = "ALWAYS" if kind == "a" else "BY DEFAULT"
        statements.append(
            f"ALTER TABLE {{target}}.{_q(str(table))} ALTER COLUMN {_q(str(column))} ADD GENERATED {generated}"
            f" AS IDENTITY (SEQUENCE NAME {{target}}.{_q(str(sequence))} START WITH {int(start)}"
            f" INCREMENT BY {int(increment)} MINVALUE {int(minimum)} MAXVALUE {int(maximum)}"
            f" CACHE {int(cache)} {'CYCLE' if cycle else 'NO CYCLE'})"
        )
    # 3. Functions (before triggers use them).
    for (definition,) in _fetch(
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.pronamespace = %s ORDER BY p.proname, p.oid",
        [namespace],
    ):
        statements.append(retarget(str(definition)))
    # 4. Rows (before indexes and constraints: faster, and foreign keys are checked once when added).
    columns: dict[str, list[str]] = {}
    for table, column in _fetch(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " WHERE c.relnamespace = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
        " AND a.attgenerated = '' ORDER BY c.relname, a.attnum",
        [namespace],
    ):
        columns.setdefault(str(table), []).append(_q(str(column)))
    for table in tables:
        names = ", ".join(columns[table])
        statements.append(
            f"INSERT INTO {{target}}.{_q(table)} ({names}) OVERRIDING SYSTEM VALUE"  # noqa: S608 (quoted names)
            f" SELECT {names} FROM {src}.{_q(table)}"
        )
    for *_column, sequence, _start, _increment, _min, _max, _cache, _cycle in identities:
        statements.append(
            f"SELECT setval('{{target}}.{_q(str(sequence))}', s.last_value, s.is_called)"  # noqa: S608 (quoted names)
            f" FROM {src}.{_q(str(sequence))} s"
        )
    # 5. Primary keys, unique, exclusion and check constraints, then the other indexes, then foreign keys.
    constraints = _fetch(
        "SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid) FROM pg_constraint k"
        " JOIN pg_class c ON c.oid = k.conrelid WHERE c.relnamespace = %s ORDER BY c.relname, k.conname",
        [namespace],
    )
    for table, name, kind, definition in constraints:
        if kind == "n":
            continue  # PostgreSQL 18+ NOT NULL constraints: CREATE TABLE ... LIKE has copied them already
        if kind not in ("p", "u", "x", "c", "f"):
            raise CloneUnsupported(f"constraint {name} of kind {kind}")
        if kind != "f":
            statements.append(
                f"ALTER TABLE {{target}}.{_q(str(table))} ADD CONSTRAINT {_q(str(name))} {retarget(str(definition))}"
            )
    for (definition,) in _fetch(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE c.relnamespace = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid"
        " AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')) ORDER BY c.relname",
        [namespace],
    ):
        statements.append(retarget(str(definition)))
    for table, name, kind, definition in constraints:
        if kind == "f":
            statements.append(
                f"ALTER TABLE {{target}}.{_q(str(table))} ADD CONSTRAINT {_q(str(name))} {retarget(str(definition))}"
            )
    # 6. Triggers and table comments.
    for (definition,) in _fetch(
        "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE c.relnamespace = %s AND NOT t.tgisinternal ORDER BY c.relname, t.tgname",
        [namespace],
    ):
        statements.append(retarget(str(definition)))
    for table, comment in _fetch(
        "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c"
        " WHERE c.relnamespace = %s AND c.relkind = 'r' AND obj_description(c.oid, 'pg_class') IS NOT NULL",
        [namespace],
    ):
        statements.append(f"COMMENT ON TABLE {{target}}.{_q(str(table))} IS {_literal(str(comment))}")
    return ClonePlan(source=source, statements=tuple(statements))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def schema_clone(*, plan: ClonePlan, target: str) -> None:
    """Create schema `target` as a copy of the plan's source, in the caller's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {_q(target)}")
        cursor.execute(plan.sql_for(target))


def schema_signature(*, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """What a clone promises to reproduce, with the schema's own name replaced by `S`: two schemas with
    equal signatures have the same tables, columns, constraints, indexes, sequences, triggers and functions."""
    rows = _fetch("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])
    if not rows:
        raise ValueError(f"no schema {schema}")
    namespace = rows[0][0]
    prefix = _source_prefix(schema)

    def norm(values: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [tuple(prefix.sub("S.", v) if isinstance(v, str) else v for v in row) for row in values]

    queries = {
        "relations": "SELECT c.relname, c.relkind, c.relpersistence FROM pg_class c WHERE c.relnamespace = %s",
        "columns": (
            "SELECT c.relname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname,"
            " format_type(a.atttypid, a.atttypmod), a.attnotnull,"
            " pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, co.collname, a.attstorage,"
            " a.attcompression, col_description(c.oid, a.attnum)"
            " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
            " LEFT JOIN pg_collation co ON co.oid = a.attcollation"
            " WHERE c.relnamespace = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
        ),
        "constraints": (
            "SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), k.condeferrable, k.condeferred,"
            " k.convalidated FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid WHERE c.relnamespace = %s"
        ),
        "indexes": (
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relnamespace = %s"
        ),
        "sequences": (
            "SELECT s.relname, t.relname, a.attname, q.seqtypid::regtype::text, q.seqstart, q.seqincrement,"
            " q.seqmin, q.seqmax, q.seqcache, q.seqcycle FROM pg_class s JOIN pg_sequence q ON q.seqrelid = s.oid"
            " LEFT JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')"
            " LEFT JOIN pg_class t ON t.oid = d.refobjid"
            " LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
            " WHERE s.relnamespace = %s"
        ),
        "triggers": (
            "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled FROM pg_trigger t"
            " JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = %s AND NOT t.tgisinternal"
        ),
        "functions": "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.pronamespace = %s",
        "table_comments": (
            "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c"
            " WHERE c.relnamespace = %s AND c.relkind = 'r'"
        ),
    }
    return {key: sorted(norm(_fetch(sql, [namespace])), key=repr) for key, sql in queries.items()}
