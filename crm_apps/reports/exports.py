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


Cell = tuple[str, Any]  # (text, the drill-down conditions of the records behind it, or None)
Line = tuple[list[Cell], Any]  # (cells, the line's drill-down: conditions, a record's URL, or None)


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a result: tabular rows; summary rows (with a subtotal row after each group of a
    grouping that has another below it, unless the result was cut to its row limit) then a totals row; a
    matrix's rows by its pivot columns (the first aggregate in each cell) with the row totals. The same table
    the result page shows (`table_lines`)."""
    header, lines = table_lines(result)
    return header, [[text for text, _drill in cells] for cells, _line in lines]


def _summary_lines(result: dict[str, Any], columns: list[dict[str, Any]]) -> list[Line]:
    """Leaf groups in tree order, each non-leaf group followed by its subtotal row."""
    group_keys = [c["key"] for c in columns if c["role"] == "group"]
    lines: list[Line] = []

    def walk(nodes: list[dict[str, Any]], path: list[str]) -> None:
        for node in nodes:
            here = [*path, _text(node)]
            if node["groups"]:
                walk(node["groups"], here)
            values: dict[str, str] = {}
            for depth, key in enumerate(group_keys):
                if depth < len(here):
                    values[key] = here[depth]
            if node["groups"]:  # a subtotal: its own label said so, the deeper groupings empty
                values[group_keys[len(here) - 1]] = str(_("Subtotal: %(label)s") % {"label": here[-1]})
            cells = []
            for c in columns:
                text = values.get(c["key"], "") if c["role"] == "group" else _text(node["aggregates"].get(c["key"]))
                cells.append((text, node["drill"] if c["role"] == "aggregate" else None))
            lines.append((cells, node["drill"]))

    walk(result["groups"], [])
    return lines


def table_lines(result: dict[str, Any]) -> tuple[list[str], list[Line]]:
    columns = result["columns"]
    kind = result["meta"]["type"]
    aggregates = [c for c in columns if c["role"] == "aggregate"]
    groups = [c for c in columns if c["role"] == "group"]
    if kind == "matrix":
        first = aggregates[0]["key"]
        pivot = result["pivot"]["values"]
        header = [c["label"] for c in groups] + [p["label"] for p in pivot] + [_("Total")]
        lines: list[Line] = []
        for row in result["rows"]:
            cells: list[Cell] = [(_text(row[g["key"]]), None) for g in groups]
            for p in pivot:
                value = (row["cells"].get(p["key"]) or {}).get(first, "")
                cells.append((_text(value), [*row["drill"], p["drill"]] if p["key"] in row["cells"] else None))
            cells.append((_text(row["total"].get(first)), row["drill"]))
            lines.append((cells, row["drill"]))
        totals = result["totals"]
        total_cells: list[Cell] = [(str(_("Total")), None)] + [("", None)] * (len(groups) - 1)
        for p in pivot:
            total_cells.append((_text((totals["cells"].get(p["key"]) or {}).get(first, "")), [p["drill"]]))
        total_cells.append((_text(totals.get(first)), None))
        lines.append((total_cells, None))
        return [str(h) for h in header], lines
    header = [str(c["label"]) for c in columns]
    # The tree's levels are each cut to the row limit, so a truncated tree would drop leaves silently: then the
    # leaf rows (cut to the limit too, and said so) without subtotals.
    if kind == "summary" and len(groups) > 1 and result.get("groups") and not result.get("truncated"):
        lines = _summary_lines(result, columns)
    else:
        lines = [
            (
                [(_text(row.get(c["key"])), row.get("drill") if c["role"] == "aggregate" else None) for c in columns],
                row.get("url") or row.get("drill"),
            )
            for row in result["rows"]
        ]
    if kind == "summary" or aggregates:
        total_row = [str(_("Total"))] + [""] * (len(columns) - 1)
        for index, c in enumerate(columns):
            if c["role"] == "aggregate":
                total_row[index] = _text(result["totals"].get(c["key"]))
        if len(columns) > len(aggregates):
            lines.append(([(text, None) for text in total_row], None))
        else:
            lines.append(([(_text(result["totals"].get(c["key"])), None) for c in columns], None))
    return header, lines


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
