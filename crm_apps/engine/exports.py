"""Spreadsheet exports shared by module lists and the audit trail: safe cells, CSV streams, XLSX files.

Every cell goes through `safe_cell`, so an exported value can never run as a formula in a spreadsheet
program (CSV injection) and carries no control characters. What rows are exported (the visibility filter,
field-level access, the row limit's audit) is the caller's business; this module only writes them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from crm_apps.engine import field_types
from crm_apps.engine.models import CrmRecord, CustomField

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # spreadsheet programs then read the CSV as UTF-8
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: str) -> str:
    """A spreadsheet cell that can never run as a formula and holds no control characters. A leading tab
    or carriage return (kept: they are text) is a formula trigger too (OWASP, CSV injection)."""
    value = CONTROL_CHARS.sub("", value)
    if value[:1] in FORMULA_TRIGGERS:
        return "'" + value
    return value


def custom_cell(field: CustomField, record: CrmRecord) -> str:
    """The export text of one custom field of `record` (its type's export formatting)."""
    return field_types.export_value(field, (record.custom_data or {}).get(field.key))


class _Echo:
    """A file that hands back what is written, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def csv_stream(header: Sequence[Any], rows: Iterable[Sequence[Any]], *, limit: int) -> Iterator[str]:
    """The CSV text, piece by piece: BOM, header, then at most `limit` rows (cells made safe by the caller)."""
    writer = csv.writer(_Echo())
    yield BOM
    yield writer.writerow(header)
    for n, row in enumerate(rows):
        if n >= limit:
            break
        yield writer.writerow(row)


def xlsx_bytes(*, title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]], limit: int) -> tuple[bytes, int]:
    """An XLSX workbook of one sheet with at most `limit` rows, and how many rows it holds."""
    from openpyxl import Workbook  # only exports need it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])  # the longest sheet name Excel accepts
    sheet.append(list(header))
    written = 0
    for n, row in enumerate(rows):
        if n >= limit:
            break
        sheet.append(list(row))
        written += 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), written
