"""vtiger ids on the wire: `<module prefix>x<crmid>`. Records keep their UUIDs; the `CrmId` table gives
each an integer on first exposure, set-based (one INSERT ... ON CONFLICT DO NOTHING per module and batch),
so no module needs a migration and modules added later are covered."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import connection

from crm_apps.vtiger.models import CrmId

ID_RE = re.compile(r"^\s*(\d{1,9})x(\d{1,18})\s*$")


def parse(value: Any) -> tuple[int, int] | None:
    """(module prefix, number) of a `12x345` id; None when it is not one."""
    match = ID_RE.match(str(value or ""))
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def crmids_for(module_key: str, record_ids: Iterable[Any]) -> dict[uuid.UUID, int]:
    """The crmid of each record, given now to those that have none: one statement."""
    wanted = sorted({uuid.UUID(str(r)) for r in record_ids if r is not None})
    if not wanted:
        return {}
    table = CrmId._meta.db_table
    # The table name is the model's own; every value is a parameter.
    sql = f"""
        WITH wanted AS (SELECT unnest(%s::uuid[]) AS record_id),
        inserted AS (
            INSERT INTO {table} (module_key, record_id)
            SELECT %s, w.record_id FROM wanted w
            WHERE NOT EXISTS (SELECT 1 FROM {table} c WHERE c.module_key = %s AND c.record_id = w.record_id)
            ORDER BY w.record_id
            ON CONFLICT (module_key, record_id) DO NOTHING
            RETURNING record_id, crmid
        )
        SELECT record_id, crmid FROM inserted
        UNION ALL
        SELECT record_id, crmid FROM {table} WHERE module_key = %s AND record_id = ANY(%s::uuid[])
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [wanted, module_key, module_key, module_key, wanted])
        found = {row[0]: row[1] for row in cursor.fetchall()}
    missing = [r for r in wanted if r not in found]
    if missing:  # inserted by a concurrent transaction after our snapshot: read them now
        found.update(
            CrmId.objects.filter(module_key=module_key, record_id__in=missing).values_list("record_id", "crmid")
        )
    return found


def crmid_for(module_key: str, record_id: Any) -> int:
    return crmids_for(module_key, [record_id])[uuid.UUID(str(record_id))]


def records_for(module_key: str, crmids: Iterable[int]) -> dict[int, uuid.UUID]:
    """crmid -> record UUID for the given numbers of one module (unknown numbers are left out)."""
    numbers = {int(n) for n in crmids}
    if not numbers:
        return {}
    rows = CrmId.objects.filter(module_key=module_key, crmid__in=numbers).values_list("crmid", "record_id")
    return dict(rows)
