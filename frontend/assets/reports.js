// Report charts (/reports/<id>/, the builder's preview, dashboard widgets): Chart.js draws the chart data the
// page carries in <script type="application/json" id="report-chart-data"> (or a widget's data-chart JSON).
// Clicking a bar, slice or point opens the drill-down list of the records behind it; the table under the
// chart carries the same links for keyboards and screen readers. A funnel is a horizontal bar chart.
import { Chart, registerables } from "chart.js";

Chart.register(...registerables);

const PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#475569"];

export function drawChart(canvas, data) {
  const kind = data.type;
  const type = { stacked_bar: "bar", funnel: "bar", donut: "doughnut", pie: "pie", line: "line", bar: "bar" }[kind] || "bar";
  const round = kind === "pie" || kind === "donut";
  const datasets = data.datasets.map((set, index) => ({
    label: set.label,
    data: set.data,
    drill: set.drill,
    backgroundColor: round ? set.data.map((_, i) => PALETTE[i % PALETTE.length]) : PALETTE[index % PALETTE.length],
    borderColor: round ? undefined : PALETTE[index % PALETTE.length],
  }));
  const stacked = kind === "stacked_bar";
  const chart = new Chart(canvas, {
    type,
    data: { labels: data.labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      indexAxis: kind === "funnel" ? "y" : "x",
      scales: round ? {} : { x: { stacked }, y: { stacked, beginAtZero: true } },
      onClick: (event, elements) => {
        if (!elements.length) return;
        const { datasetIndex, index } = elements[0];
        const url = (datasets[datasetIndex].drill || [])[index];
        if (url) window.location.assign(url);
      },
    },
  });
  canvas.dataset.chartReady = "1";
  canvas.reportChart = chart; // where each segment is drawn (the browser journey clicks a bar through it)
  return chart;
}

function setUp() {
  const canvas = document.querySelector("[data-report-canvas]");
  const source = document.getElementById("report-chart-data");
  if (canvas && source) {
    drawChart(canvas, JSON.parse(source.textContent));
  }
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", setUp);
} else {
  setUp();
}
