// Imports: the progress bar of a running check, import or undo (rows/s, time left), refreshed from
// /imports/<id>/status.json; the page reloads when the job finishes so the summary shows.
const ACTIVE = new Set(["validating", "queued", "running", "undoing"]);

function formatSeconds(seconds) {
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m ${seconds % 60}s`;
}

function poll(box) {
  const url = box.dataset.importStatus;
  const bar = box.querySelector('[data-import-field="bar"]');
  const text = box.querySelector('[data-import-field="progress_text"]');
  const wrap = box.querySelector(".import-progress");
  const labels = { rows: box.dataset.rowsLabel || "rows/s", left: box.dataset.leftLabel || "left" };
  let stopped = false;
  async function tick() {
    if (stopped) return;
    let data;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      data = await response.json();
    } catch (error) {
      window.setTimeout(tick, 3000);
      return;
    }
    const p = data.progress;
    if (wrap) wrap.hidden = false;
    if (bar) {
      bar.value = p.percent;
      bar.textContent = `${p.percent}%`;
    }
    if (text) {
      const parts = [`${p.percent}% · ${p.done.toLocaleString()} / ${p.total.toLocaleString()}`];
      if (p.rows_per_second) parts.push(`${Math.round(p.rows_per_second).toLocaleString()} ${labels.rows}`);
      if (p.eta_seconds) parts.push(`${formatSeconds(p.eta_seconds)} ${labels.left}`);
      text.textContent = parts.join(" · ");
    }
    if (!ACTIVE.has(data.status)) {
      stopped = true;
      window.location.reload();
      return;
    }
    window.setTimeout(tick, 700);
  }
  tick();
}

document.querySelectorAll("[data-import-status]").forEach((box) => {
  if (box.dataset.busy === "1") poll(box);
});
