"""A report result as a table (header + rows), the same table the result page shows, written as CSV, XLSX
or PDF. Cells pass through the engine's `safe_cell` (no spreadsheet formulas)."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from crm_apps.engine.exports import safe_cell

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return str(value.get("label", ""))
    if isinstance(value, list):  # a column of linked records: their distinct values
        return ", ".join(_text(v) for v in value)
    return str(value)


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a result: tabular rows; summary leaf rows then a totals row; a matrix's rows by its
    pivot columns (the first aggregate in each cell) with the row totals."""
    columns = result["columns"]
    kind = result["meta"]["type"]
    aggregates = [c for c in columns if c["role"] == "aggregate"]
    groups = [c for c in columns if c["role"] == "group"]
    if kind == "matrix":
        first = aggregates[0]["key"]
        pivot = result["pivot"]["values"]
        header = [c["label"] for c in groups] + [p["label"] for p in pivot] + [_("Total")]
        rows = []
        for row in result["rows"]:
            cells = [_text((row["cells"].get(p["key"]) or {}).get(first, "")) for p in pivot]
            rows.append([_text(row[g["key"]]) for g in groups] + cells + [_text(row["total"].get(first))])
        totals = result["totals"]
        rows.append(
            [_("Total")]
            + [""] * (len(groups) - 1)
            + [_text((totals["cells"].get(p["key"]) or {}).get(first, "")) for p in pivot]
            + [_text(totals.get(first))]
        )
        return [str(h) for h in header], rows
    header = [str(c["label"]) for c in columns]
    rows = [[_text(row.get(c["key"])) for c in columns] for row in result["rows"]]
    if kind == "summary" or aggregates:
        total_row = [str(_("Total"))] + [""] * (len(columns) - 1)
        for index, c in enumerate(columns):
            if c["role"] == "aggregate":
                total_row[index] = _text(result["totals"].get(c["key"]))
        if len(columns) > len(aggregates):
            rows.append(total_row)
        else:
            rows.append([_text(result["totals"].get(c["key"])) for c in columns])
    return header, rows


def to_csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode()


def to_xlsx(title: str, header: list[str], rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=safe_cell(title)[:31].replace("/", " ").replace(":", " ") or "Report")
    sheet.append([safe_cell(h) for h in header])
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_pdf(title: str, header: list[str], rows: list[list[str]], result: dict[str, Any]) -> bytes:
    from weasyprint import HTML

    html = render_to_string(
        "reports/export_pdf.html", {"title": title, "header": header, "rows": rows, "meta": result["meta"]}
    )
    return HTML(string=html).write_pdf()


def render(fmt: str, title: str, result: dict[str, Any]) -> bytes:
    header, rows = table(result)
    if fmt == "csv":
        return to_csv(header, rows)
    if fmt == "xlsx":
        return to_xlsx(title, header, rows)
    return to_pdf(title, header, rows, result)
