// The calendar screens: FullCalendar (day, week, month, agenda) on /calendar/ and one day column per
// member on /calendar/team/. Everything goes through the JSON API (/api/v1/events/, /api/v1/tasks/):
// click or select to create, drag to move, resize to change the end; a repeating event asks whether
// the change is for this occurrence, this and the following ones, or all of them.
import { Calendar } from "@fullcalendar/core";
import dayGridPlugin from "@fullcalendar/daygrid";
import timeGridPlugin from "@fullcalendar/timegrid";
import listPlugin from "@fullcalendar/list";
import interactionPlugin from "@fullcalendar/interaction";
import ruLocale from "@fullcalendar/core/locales/ru";

const PALETTE = ["#2f5bd3", "#157f3b", "#b54708", "#7a2eb8", "#0e7490", "#b42318", "#4d5761", "#a15c07"];
const TYPE_BORDER = { meeting: "solid", call: "dashed", other: "dotted" };

function csrf() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  } catch (error) {
    return "";
  }
}

async function api(url, method, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(Object.values(data).flat().join(" ") || response.statusText);
    error.data = data;
    throw error;
  }
  return data;
}

function memberColour(id) {
  return PALETTE[Math.abs(Number(id) || 0) % PALETTE.length];
}

function toEvent(row) {
  const colour = memberColour(row.owner);
  return {
    id: row.occurrence ? `${row.id}@${row.occurrence}` : row.id,
    title: row.subject,
    start: row.start,
    end: row.end,
    allDay: row.all_day,
    backgroundColor: colour,
    borderColor: colour,
    classNames: [`calendar-event--${row.activity_type}`, `calendar-event--${row.status}`],
    extendedProps: { row, kind: "event" },
  };
}

function toTask(row) {
  return {
    id: `task-${row.id}`,
    title: `✓ ${row.subject}`,
    start: row.due_time ? `${row.due_date}T${row.due_time}` : row.due_date,
    allDay: !row.due_time,
    editable: false,
    classNames: ["calendar-task", row.overdue ? "calendar-task--overdue" : ""],
    extendedProps: { row, kind: "task" },
  };
}

function askScope() {
  const dialog = document.getElementById("calendar-scope");
  if (!dialog || typeof dialog.showModal !== "function") {
    return Promise.resolve("all");
  }
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true });
    dialog.showModal();
  });
}

function askNewEvent() {
  const dialog = document.getElementById("calendar-dialog");
  const form = dialog.querySelector("[data-calendar-form]");
  form.reset();
  dialog.querySelector("[data-calendar-error]").hidden = true;
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        if (dialog.returnValue !== "save") {
          resolve(null);
          return;
        }
        resolve(Object.fromEntries(new FormData(form).entries()));
      },
      { once: true },
    );
    dialog.showModal();
    form.querySelector("[name=subject]").focus();
  });
}

// The member's own clock (profile: time format "24h" / "12h"; empty follows the language's locale).
function clockOptions(root) {
  const clock = root.dataset.timeFormat;
  if (clock !== "24h" && clock !== "12h") {
    return {};
  }
  const format = { hour: "numeric", minute: "2-digit", hour12: clock === "12h" };
  return { eventTimeFormat: format, slotLabelFormat: format };
}

function setUpCalendar(root) {
  const related = root.dataset.relatedId ? { module: root.dataset.relatedModule, id: root.dataset.relatedId } : null;
  const canCreate = root.dataset.canCreate === "1";
  const narrow = window.matchMedia("(max-width: 700px)").matches;
  const calendar = new Calendar(root, {
    plugins: [dayGridPlugin, timeGridPlugin, listPlugin, interactionPlugin],
    initialView: narrow ? "listWeek" : root.dataset.view || "timeGridWeek",
    locales: [ruLocale],
    locale: root.dataset.locale,
    ...clockOptions(root),
    firstDay: 1,
    nowIndicator: true,
    height: "auto",
    headerToolbar: narrow
      ? { left: "prev,next", center: "title", right: "timeGridDay,listWeek,dayGridMonth" }
      : { left: "prev,next today", center: "title", right: "timeGridDay,timeGridWeek,dayGridMonth,listWeek" },
    editable: true,
    selectable: canCreate,
    selectMirror: true,
    // A click creates a one-hour event (dateClick); a drag over several slots selects a range.
    selectMinDistance: 5,
    eventSources: [
      async (info) => {
        const query = new URLSearchParams({ start: info.startStr, end: info.endStr });
        const [events, tasks] = await Promise.all([
          api(`${root.dataset.eventsUrl}?${query}`, "GET"),
          api(`${root.dataset.tasksUrl}?${query}`, "GET").catch(() => ({ results: [] })),
        ]);
        return [...events.results.map(toEvent), ...tasks.results.map(toTask)];
      },
    ],
    dateClick: (info) => {
      if (!canCreate) {
        return;
      }
      const end = new Date(info.date.getTime() + (info.allDay ? 86400000 : 3600000));
      create({
        start: info.date,
        end,
        allDay: info.allDay,
        startStr: info.allDay ? info.dateStr : info.date.toISOString(),
        endStr: end.toISOString(),
      });
    },
    select: (info) => {
      calendar.unselect();
      create(info);
    },
    eventClick: (info) => {
      const { row, kind } = info.event.extendedProps;
      info.jsEvent.preventDefault();
      window.location.href = `/m/${kind === "task" ? "tasks" : "events"}/${row.id}/`;
    },
    eventDrop: (info) => change(info),
    eventResize: (info) => change(info),
  });

  async function create(info) {
    const values = await askNewEvent();
    if (!values) {
      return;
    }
    const body = {
      subject: values.subject,
      activity_type: values.activity_type,
      location: values.location,
      rrule: values.rrule,
      start: info.startStr,
      end: info.endStr,
      all_day: info.allDay,
      time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
      reminders: values.reminder ? [Number(values.reminder)] : [],
    };
    if (info.allDay) {
      body.start = `${info.startStr}T00:00:00`;
      const end = new Date(info.end.getTime() - 1000);
      body.end = `${end.getFullYear()}-${String(end.getMonth() + 1).padStart(2, "0")}-${String(end.getDate()).padStart(2, "0")}T23:59:59`;
    }
    if (related) {
      body.related_to = related;
    }
    try {
      await api(root.dataset.eventsUrl, "POST", body);
    } catch (error) {
      window.alert(error.message);
    }
    calendar.refetchEvents();
  }

  async function change(info) {
    const { row } = info.event.extendedProps;
    const body = { start: info.event.start.toISOString(), end: (info.event.end || info.event.start).toISOString() };
    if (row.occurrence) {
      const scope = await askScope();
      if (scope === "cancel" || !scope) {
        info.revert();
        return;
      }
      body.scope = scope;
      if (scope !== "all") {
        body.occurrence = row.occurrence;
      } else {
        // Moving the whole series shifts its first start by the same amount.
        const delta = info.event.start.getTime() - new Date(row.start).getTime();
        const length = (info.event.end || info.event.start).getTime() - info.event.start.getTime();
        const first = await api(`${root.dataset.eventsUrl}${row.id}/`, "GET");
        const start = new Date(new Date(first.start).getTime() + delta);
        body.start = start.toISOString();
        body.end = new Date(start.getTime() + length).toISOString();
      }
    }
    try {
      await api(`${root.dataset.eventsUrl}${row.id}/`, "PATCH", body);
    } catch (error) {
      info.revert();
      window.alert(error.message);
    }
    calendar.refetchEvents();
  }

  calendar.render();
  root.calendar = calendar;
}

function setUpTeam(root) {
  const members = JSON.parse(document.getElementById("calendar-members").textContent);
  const names = Object.fromEntries(members.map((m) => [String(m.id), m.name]));
  const dateInput = document.querySelector("[data-team-date]");
  const boxes = Array.from(document.querySelectorAll("[data-team-member]"));
  if (!dateInput.value) {
    dateInput.value = new Date().toISOString().slice(0, 10);
  }
  function render() {
    root.replaceChildren();
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    for (const id of chosen) {
      const column = document.createElement("section");
      column.className = "team-column";
      const title = document.createElement("h2");
      title.textContent = names[id] || id;
      const host = document.createElement("div");
      column.append(title, host);
      root.append(column);
      const calendar = new Calendar(host, {
        plugins: [timeGridPlugin, interactionPlugin],
        initialView: "timeGridDay",
        initialDate: dateInput.value,
        headerToolbar: false,
        allDaySlot: true,
        height: "auto",
        locales: [ruLocale],
        locale: root.dataset.locale,
        ...clockOptions(root),
        slotMinTime: "07:00:00",
        slotMaxTime: "20:00:00",
        events: async (info) => {
          const query = new URLSearchParams({ start: info.startStr, end: info.endStr, members: id });
          const data = await api(`${root.dataset.eventsUrl}?${query}`, "GET");
          return data.results.map(toEvent);
        },
      });
      calendar.render();
    }
  }
  dateInput.addEventListener("change", render);
  boxes.forEach((b) => b.addEventListener("change", render));
  render();
}

function onReady(fn) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fn);
  } else {
    fn();
  }
}

onReady(() => {
  const root = document.querySelector("[data-calendar]");
  if (root) {
    setUpCalendar(root);
  }
  const team = document.querySelector("[data-team]");
  if (team) {
    setUpTeam(team);
  }
});
