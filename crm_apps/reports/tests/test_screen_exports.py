"""What the result page shows is what the exports hold: for a tabular, a two-level summary (with its subtotal
rows) and a matrix report, the page's table equals the CSV and the XLSX cell for cell, and the PDF holds every
cell. Each figure of a summary or matrix links to the records behind it, and that drill-down lists exactly
them (a matrix cell: its row's and its column's conditions)."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.deals.models import Stage
from crm_apps.reports.definition import parse
from crm_apps.reports.engine import run
from crm_apps.reports.models import Report

pytestmark = pytest.mark.django_db
DEALS = registry.get("deals")


class _Table(HTMLParser):
    """The report table's header and body cells as text, and the cell links (text -> href)."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.rows: list[list[str]] = []
        self.links: list[tuple[str, str]] = []
        self._cell: list[str] | None = None
        self._href = ""

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table" and "data-report-table" in attributes:
            self.inside = True
        if not self.inside:
            return
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a" and "data-report-cell-drill" in attributes:
            self._href = attributes["href"]

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag == "table":
            self.inside = False
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "a" and self._href:
            self.links.append(("".join(self._cell or []).strip(), self._href))
            self._href = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def page_table(web, report_id):
    parser = _Table()
    parser.feed(web.get(f"/reports/{report_id}/").content.decode())
    # The last column holds each line's "Records" link (hidden heading): not part of the exported table.
    return [row[:-1] for row in parser.rows], parser.links


@pytest.fixture
def setup(tenant_a, admin_of, client_for):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        s0, s1 = Stage.objects.filter(pipeline__is_default=True).order_by("position")[:2]
        for name, amount, stage, close, source in (
            ("Aardvark", "10", s0, "2027-01-05", "Web Site"),
            ("Bison", "20", s0, "2027-02-05", "Web Site"),
            ("Cheetah", "40", s0, "2027-02-07", "Cold Call"),
            ("Dingo", "80", s1, "2027-01-09", "Cold Call"),
        ):
            record_create(
                spec=DEALS,
                actor=admin,
                data={
                    "name": name,
                    "amount": amount,
                    "stage": s0.pk if stage == s0 else s1.pk,
                    "close_date": close,
                    "lead_source": source,
                },
            )

        def make(name, **definition):
            return Report.objects.create(
                name=name, owner=admin, module="deals", definition={"module": "deals", **definition}
            ).pk

        reports = {
            "tabular": make(
                "List", type="tabular", columns=["name", "amount", "stage"], sort=[{"field": "amount", "dir": "asc"}]
            ),
            "summary": make(
                "Two levels",
                type="summary",
                group_by=["stage", "lead_source"],
                aggregates=[{"field": "amount", "op": "sum"}, {"op": "count"}],
            ),
            "matrix": make(
                "Pivot",
                type="matrix",
                group_by=["stage"],
                pivot={"field": "close_date", "granularity": "month"},
                aggregates=[{"field": "amount", "op": "sum"}],
            ),
        }
    return client_for(tenant_a, admin), reports, (s0, s1)


@pytest.mark.parametrize("kind", ["tabular", "summary", "matrix"])
def test_the_page_and_every_export_hold_the_same_table(setup, kind):
    web, reports, _stages = setup
    report_id = reports[kind]
    shown, _links = page_table(web, report_id)
    csv_rows = list(csv.reader(io.StringIO(web.get(f"/reports/{report_id}/export.csv").content.decode("utf-8-sig"))))
    assert shown == csv_rows
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(web.get(f"/reports/{report_id}/export.xlsx").content)).active
    assert [[c.value or "" for c in r] for r in sheet.iter_rows()] == csv_rows
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(web.get(f"/reports/{report_id}/export.pdf").content))
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pdf.pages))
    for row in csv_rows:
        for cell in row:
            assert re.sub(r"\s+", " ", cell) in text, cell


def test_a_two_level_summary_shows_subtotals_and_every_figure_drills_down(setup):
    web, reports, (s0, s1) = setup
    shown, links = page_table(web, reports["summary"])
    assert len(shown[0]) == 4  # stage, lead source, sum, count
    subtotals = [row for row in shown if row[0].startswith("Subtotal:")]
    assert [(row[0], row[2], row[3]) for row in subtotals] == [
        (f"Subtotal: {s0.name}", "70.00", "3"),
        (f"Subtotal: {s1.name}", "80.00", "1"),
    ]
    assert shown[-1][0] == "Total" and shown[-1][2:] == ["150.00", "4"]
    # Every figure links to its records: the subtotal of the first stage lists its three deals.
    by_text: dict[str, str] = {}
    for text, href in links:
        by_text.setdefault(text, href)
    drilled = web.get(by_text["70.00"].replace("&amp;", "&")).content.decode()
    assert all(name in drilled for name in ("Aardvark", "Bison", "Cheetah")) and "Dingo" not in drilled


def test_a_matrix_cell_drills_down_to_its_row_and_column(setup):
    web, reports, _stages = setup
    shown, links = page_table(web, reports["matrix"])
    assert shown[0][1:] == ["2027-01", "2027-02", "Total"]
    hrefs = dict(links)
    # First stage x February: Two and Three (20 + 40).
    drilled = web.get(hrefs["60.00"].replace("&amp;", "&")).content.decode()
    assert "Bison" in drilled and "Cheetah" in drilled and "Aardvark" not in drilled and "Dingo" not in drilled
    # A column total: January of every stage.
    january = web.get(hrefs["90.00"].replace("&amp;", "&")).content.decode()
    assert "Aardvark" in january and "Dingo" in january and "Bison" not in january


def test_a_summary_cut_to_its_row_limit_lists_its_leaf_rows_without_subtotals(setup, tenant_a):
    """The tree's levels are each cut to the limit, so walking it would drop leaves silently: a truncated summary
    shows (and exports) its leaf rows instead, and the page says the rows were cut."""
    web, reports, _stages = setup
    with tenant_context(tenant_a):
        source = Report.objects.get(pk=reports["summary"])
        cut = Report.objects.create(
            name="Cut", owner=source.owner, module="deals", definition={**source.definition, "limit": 2}
        )
    response = web.get(f"/reports/{cut.pk}/")
    assert "Only the first rows are shown" in response.content.decode()
    shown, _links = page_table(web, cut.pk)
    csv_rows = list(csv.reader(io.StringIO(web.get(f"/reports/{cut.pk}/export.csv").content.decode("utf-8-sig"))))
    assert shown == csv_rows
    assert not [row for row in csv_rows if row[0].startswith("Subtotal:")]
    with tenant_context(tenant_a):
        result = run(parse(cut.definition, actor=cut.owner, saved=True))
    assert result["truncated"] is True and len(result["rows"]) == 2
    assert len(csv_rows) == 1 + len(result["rows"]) + 1  # the header, every leaf row kept, the totals
    assert [row[:2] for row in csv_rows[1:-1]] == [
        [row["stage"]["label"], row["lead_source"]["label"]] for row in result["rows"]
    ]
    assert csv_rows[-1][0] == "Total" and csv_rows[-1][2:] == ["150.00", "4"]
