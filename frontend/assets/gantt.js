// The project Gantt chart (/projects/<id>/gantt/): frappe-gantt draws the tasks of the plan JSON with their
// finish-to-start arrows, today's line and the milestones (highlighted days with their names). Dragging a bar
// or its ends saves through POST /api/v1/project-tasks/<id>/move; the server pushes the dependants that must
// move and answers with every task it moved, shown with an "Undo" button (POST
// /api/v1/project-task-moves/<move>/undo). After each save or refusal the chart is redrawn from the server's
// plan, so a refused drag snaps back. The table under the chart does the same without a mouse.
import Gantt from "frappe-gantt";
import { api } from "./http.js";

const ZERO = "00000000-0000-0000-0000-000000000000";

function isoDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function toBars(plan) {
  return plan.tasks
    .filter((task) => task.start_date)
    .map((task) => ({
      id: task.id,
      name: task.name,
      start: task.start_date,
      end: task.end_date || task.start_date,
      progress: task.progress,
      dependencies: task.depends_on.join(","),
      custom_class: task.can_edit ? "gantt-task" : "gantt-task gantt-task--readonly",
    }));
}

function milestoneDays(plan) {
  return plan.milestones
    .filter((m) => m.date)
    .map((m) => ({ date: m.date, name: m.name }));
}

function setUpGantt(root) {
  const status = document.querySelector("[data-gantt-status]");
  const source = document.getElementById("gantt-plan");
  if (!source) return;
  let plan = JSON.parse(source.textContent);
  let chart = null;

  function say(text, moveId) {
    status.replaceChildren();
    const span = document.createElement("span");
    span.textContent = text;
    status.append(span);
    if (moveId) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button button--small";
      button.textContent = root.dataset.textUndo;
      button.dataset.ganttUndo = moveId;
      button.addEventListener("click", () => undo(moveId));
      status.append(" ", button);
    }
  }

  function syncTable() {
    for (const task of plan.tasks) {
      const row = document.querySelector(`[data-task-row="${task.id}"]`);
      if (!row) continue;
      for (const [selector, value] of [["[data-task-start]", task.start_date], ["[data-task-end]", task.end_date]]) {
        const cell = row.querySelector(selector);
        if (!cell) continue;
        if (cell.tagName === "INPUT") cell.value = value || "";
        else cell.textContent = value || "—";
      }
    }
  }

  async function reload() {
    plan = await api(root.dataset.planUrl, "GET");
    draw();
    syncTable();
  }

  // The chart and the table are redrawn from the server's plan before the message shows, so what the
  // message says is what both show (a refused drag snaps back).
  async function move(task, start, end) {
    let message = "";
    let moveId = null;
    try {
      const result = await api(root.dataset.moveUrl.replace(ZERO, task.id), "POST", {
        start_date: isoDay(start),
        end_date: isoDay(end),
      });
      const others = result.moved.slice(1).map((m) => m.name);
      message = others.length ? `${root.dataset.textMoved} ${others.join(", ")}` : root.dataset.textSaved;
      moveId = result.moved.length ? result.move : null;
    } catch (error) {
      message = error.message;
    }
    await reload();
    say(message, moveId);
  }

  async function undo(moveId) {
    let message = root.dataset.textUndone;
    try {
      await api(root.dataset.undoUrl.replace(ZERO, moveId), "POST", {});
    } catch (error) {
      message = error.message;
    }
    await reload();
    say(message);
  }

  // Each milestone's day is highlighted by the chart (its `holidays` option); its name is written at the
  // top of that column, above the bars.
  function labelMilestones() {
    const svg = root.querySelector("svg.gantt");
    if (!svg) return;
    for (const old of svg.querySelectorAll(".gantt-milestone-label")) old.remove();
    for (const milestone of plan.milestones) {
      if (!milestone.date) continue;
      const column = svg.querySelector(`rect.holiday-highlight[class~="${milestone.date}"]`);
      if (!column) continue;
      const text = document.createElementNS("http://www.w3.org/2000/svg", "text");
      text.setAttribute("x", String(Number(column.getAttribute("x")) + 3));
      text.setAttribute("y", String(Number(column.getAttribute("y")) + 12));
      text.setAttribute("class", "gantt-milestone-label");
      text.textContent = `◆ ${milestone.name}${milestone.reached ? " ✓" : ""}`;
      svg.append(text);
    }
  }

  function draw() {
    const bars = toBars(plan);
    if (!bars.length) return;
    const milestones = milestoneDays(plan);
    const options = {
      view_mode: root.dataset.mode || "Day",
      language: root.dataset.language || "en",
      readonly: root.dataset.readonly === "1",
      readonly_progress: true,
      move_dependencies: false,
      today_button: false,
      popup_on: "click",
      scroll_to: "today",
      holidays: milestones.length
        ? { "var(--g-weekend-highlight-color)": "weekend", "var(--gantt-milestone, #fbe3a8)": milestones }
        : { "var(--g-weekend-highlight-color)": "weekend" },
      on_date_change: (task, start, end) => move(task, start, end),
    };
    root.replaceChildren();
    chart = new Gantt(root, bars, options);
    // The chart is hidden from assistive technology (the table is the accessible way): none of its controls
    // may take the keyboard focus either.
    for (const control of root.querySelectorAll("button, a[href], [tabindex]")) control.setAttribute("tabindex", "-1");
    labelMilestones();
  }

  for (const button of document.querySelectorAll("[data-gantt-mode]")) {
    button.addEventListener("click", () => {
      root.dataset.mode = button.dataset.ganttMode;
      for (const other of document.querySelectorAll("[data-gantt-mode]")) {
        other.setAttribute("aria-pressed", String(other === button));
      }
      if (chart) {
        chart.change_view_mode(button.dataset.ganttMode);
        labelMilestones();
      }
    });
  }
  draw();
}

function onReady(fn) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
  else fn();
}

onReady(() => {
  for (const root of document.querySelectorAll("[data-gantt]")) setUpGantt(root);
});
