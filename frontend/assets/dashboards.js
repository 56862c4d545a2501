// Dashboards (/dashboards/<id>/): gridstack lays out the widgets; dragging or resizing one saves the grid
// (POST /api/v1/dashboards/<id>/layout). Each widget loads its data from GET /api/v1/dashboard-widgets/<id>/data
// and draws it with the reports' Chart.js helper (or the quota table); "Refresh" reloads every widget without
// reloading the page and each shows when its data was computed. On a phone the grid is one column.
import { GridStack } from "gridstack";
import { api } from "./http.js";
import { drawChart } from "./reports.js";

const charts = new Map();

function strings() {
  const el = document.getElementById("widget-strings");
  return el ? el.dataset : {};
}

function cell(tag, text) {
  const el = document.createElement(tag);
  el.textContent = text === null || text === undefined ? "—" : String(text);
  return el;
}

function quotaTable(data) {
  const s = strings();
  const table = document.createElement("table");
  table.className = "table";
  const head = document.createElement("tr");
  [s.owner, s.won, s.quota, s.attainment].forEach((t) => head.appendChild(cell("th", t)));
  table.appendChild(head);
  data.rows.forEach((row) => {
    const tr = document.createElement("tr");
    tr.appendChild(cell("td", row.owner));
    tr.appendChild(cell("td", row.won));
    tr.appendChild(cell("td", row.quota));
    tr.appendChild(cell("td", row.attainment === null ? null : `${row.attainment}%`));
    table.appendChild(tr);
  });
  return table;
}

function miniList(data) {
  const wrap = document.createElement("div");
  const table = document.createElement("table");
  table.className = "table";
  const head = document.createElement("tr");
  data.columns.forEach((t) => head.appendChild(cell("th", t)));
  table.appendChild(head);
  data.rows.forEach((row) => {
    const tr = document.createElement("tr");
    const first = document.createElement("td");
    const link = document.createElement("a");
    link.href = row.url;
    link.textContent = row.title;
    first.appendChild(link);
    tr.appendChild(first);
    row.cells.forEach((value) => tr.appendChild(cell("td", value)));
    table.appendChild(tr);
  });
  wrap.appendChild(table);
  if (!data.rows.length) wrap.appendChild(cell("p", strings().empty)).className = "muted";
  const all = document.createElement("a");
  all.href = data.view_url;
  all.textContent = strings().open;
  wrap.appendChild(all);
  return wrap;
}

async function load(section) {
  const body = section.querySelector("[data-widget-body]");
  const computed = section.querySelector("[data-widget-computed]");
  try {
    const data = await api(section.dataset.widgetUrl, "GET");
    const old = charts.get(section);
    if (old) old.destroy();
    body.replaceChildren();
    if (data.type === "chart" && data.chart && data.chart.type === "kpi") {
      body.appendChild(cell("p", data.chart.value)).className = "report-kpi__value";
    } else if (data.type === "chart" && data.chart) {
      const box = document.createElement("div");
      box.className = "report-chart__canvas";
      const canvas = document.createElement("canvas");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", data.title);
      box.appendChild(canvas);
      body.appendChild(box);
      charts.set(section, drawChart(canvas, data.chart));
    } else if (data.type === "quota") {
      body.appendChild(quotaTable(data));
    } else if (data.type === "list") {
      body.appendChild(miniList(data));
    } else {
      body.appendChild(cell("p", data.message || strings().unavailable)).className = "muted";
    }
    if (data.note) body.appendChild(cell("p", data.note)).className = "muted widget-note";
    computed.dateTime = data.computed_at;
    computed.textContent = new Date(data.computed_at).toLocaleString();
    section.dataset.loaded = "1";
  } catch (error) {
    body.replaceChildren(cell("p", strings().error));
  }
}

function setUp() {
  const root = document.querySelector("[data-dashboard]");
  if (!root) return;
  const editable = root.dataset.editable === "1";
  const grid = GridStack.init(
    { column: 12, cellHeight: 80, margin: 8, float: false, staticGrid: !editable, columnOpts: { breakpoints: [{ w: 700, c: 1 }] } },
    root,
  );
  const refresh = () => root.querySelectorAll("[data-widget-url]").forEach((section) => load(section));
  refresh();
  document.querySelector("[data-dashboard-refresh]")?.addEventListener("click", refresh);
  if (editable) {
    grid.on("change", () => {
      const widgets = grid.save(false).map((item) => ({ id: Number(item.id), x: item.x, y: item.y, w: item.w, h: item.h }));
      api(root.dataset.layoutUrl, "POST", { widgets }).then(() => {
        root.dataset.saved = String(Date.now());
      });
    });
    grid.on("resizestop", (event, el) => {
      const section = el.querySelector("[data-widget-url]");
      const chart = section && charts.get(section);
      if (chart) chart.resize();
    });
  }
  root.dataset.ready = "1";
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", setUp);
} else {
  setUp();
}
