// The event and task forms (calendar/templates/events/form.html, tasks/form.html): the related record's
// picker follows the chosen module, reminder rows are added and removed, and the recurrence builder
// shows the parts that apply to the chosen frequency with a summary in words from the server
// (calendar:recurrence_summary, the same code that builds the rule on save). Without JavaScript the
// form still posts every part.

function onReady(fn) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fn);
  } else {
    fn();
  }
}

export function setUpRelated(root) {
  const module = root.querySelector("select[data-related-module]");
  const record = root.querySelector("select[data-related-record]");
  if (!module || !record) {
    return;
  }
  const sync = (clear) => {
    const key = module.value;
    record.dataset.uiUrl = key ? record.dataset.lookupPattern.replace("MODULE", encodeURIComponent(key)) : "";
    const ts = record.tomselect;
    if (clear && ts) {
      ts.clear();
      ts.clearOptions();
    }
    if (ts) {
      if (key) {
        ts.enable();
      } else {
        ts.disable();
      }
    } else {
      record.disabled = !key;
    }
  };
  module.addEventListener("change", () => sync(true));
  // Tom Select is set up by forms.js on the same ready event: wait a tick for it.
  setTimeout(() => sync(false), 0);
}

export function setUpReminders(root) {
  const list = root.querySelector("[data-reminder-list]");
  const template = root.querySelector("template[data-reminder-template]");
  const add = root.querySelector("[data-reminder-add]");
  if (!list || !template || !add) {
    return;
  }
  const limit = 5;
  const refresh = () => {
    add.disabled = list.querySelectorAll("[data-reminder-row]").length >= limit;
  };
  add.addEventListener("click", () => {
    const row = template.content.firstElementChild.cloneNode(true);
    list.append(row);
    row.querySelector("input").focus();
    refresh();
  });
  list.addEventListener("click", (event) => {
    const remove = event.target.closest("[data-reminder-remove]");
    if (!remove) {
      return;
    }
    const row = remove.closest("[data-reminder-row]");
    const rows = list.querySelectorAll("[data-reminder-row]");
    if (rows.length === 1) {
      row.querySelector("input").value = ""; // the last row empties instead of disappearing
      row.querySelector("input").focus();
    } else {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      (next ? next.querySelector("input") : add).focus();
    }
    refresh();
  });
  refresh();
}

export function setUpRecurrence(root) {
  const box = root.querySelector("[data-recurrence]");
  if (!box) {
    return;
  }
  const form = box.closest("form");
  const freq = box.querySelector("[data-repeat-freq]");
  const summary = box.querySelector("[data-repeat-summary]");
  const parts = (name) => box.querySelector(`[data-repeat-part='${name}']`);
  let timer = null;
  let asked = 0;

  function show() {
    const value = freq.value;
    const repeating = value !== "" && value !== "CUSTOM";
    parts("interval").hidden = !repeating;
    parts("weekly").hidden = value !== "WEEKLY";
    parts("monthly").hidden = value !== "MONTHLY";
    parts("ends").hidden = !repeating;
    parts("custom").hidden = value !== "CUSTOM";
    if (value === "WEEKLY" && !box.querySelector("[name=repeat_byday]:checked")) {
      const start = startDate();
      if (start) {
        const code = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"][start.getDay()];
        const box_ = box.querySelector(`[name=repeat_byday][value=${code}]`);
        if (box_) {
          box_.checked = true;
        }
      }
    }
  }

  function startDate() {
    const input = form.querySelector("[name=start]");
    if (!input || !input.value) {
      return null;
    }
    const parsed = new Date(input.value.replace(" ", "T"));
    return Number.isNaN(parsed.getTime()) ? null : parsed;
  }

  async function summarise() {
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(form).entries()) {
      if (name.startsWith("repeat_") || name === "start" || name === "time_zone") {
        query.append(name, value);
      }
    }
    const ticket = ++asked;
    try {
      const response = await fetch(`${box.dataset.summaryUrl}?${query}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      const data = await response.json();
      if (ticket !== asked) {
        return;
      }
      summary.textContent = data.summary || data.error || "";
      summary.classList.toggle("recurrence-summary--error", Boolean(data.error));
    } catch (error) {
      // Offline: the summary waits for the next change; the form still saves.
    }
  }

  function changed() {
    show();
    clearTimeout(timer);
    timer = setTimeout(summarise, 250);
  }

  box.addEventListener("change", changed);
  box.addEventListener("input", changed);
  const start = form.querySelector("[name=start]");
  if (start) {
    start.addEventListener("change", changed);
  }
  show();
  if (freq.value) {
    summarise();
  }
}

onReady(() => {
  document.querySelectorAll("form.event-form, form.task-form").forEach((form) => {
    setUpRelated(form);
    setUpReminders(form);
    setUpRecurrence(form);
  });
});
