// The calendar screens: FullCalendar (day, week, month, agenda) on /calendar/ and one day column per
// member on /calendar/team/. Everything goes through the JSON API (/api/v1/events/, /api/v1/tasks/):
// click or select to create, drag to move, resize to change the end; a repeating event asks whether
// the change is for this occurrence, this and the following ones, or all of them. The team view does the
// same in each member's column (for members the reader may schedule for; on a phone, press and hold).
import "./calendar_forms.js";
import { setUpReminders } from "./calendar_forms.js";
import { Calendar } from "@fullcalendar/core";
import dayGridPlugin from "@fullcalendar/daygrid";
import timeGridPlugin from "@fullcalendar/timegrid";
import listPlugin from "@fullcalendar/list";
import interactionPlugin from "@fullcalendar/interaction";
import ruLocale from "@fullcalendar/core/locales/ru";
import { api } from "./http.js";

const PALETTE = ["#2f5bd3", "#157f3b", "#b54708", "#7a2eb8", "#0e7490", "#b42318", "#4d5761", "#a15c07"];
const TYPE_BORDER = { meeting: "solid", call: "dashed", other: "dotted" };

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
    editable: row.editable !== false,
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

let dialogRows = null;

// The quick "New event" dialog: resolves to its FormData, "more" (open the full form) or null.
function askNewEvent(forName) {
  const dialog = document.getElementById("calendar-dialog");
  const form = dialog.querySelector("[data-calendar-form]");
  const list = form.querySelector("[data-reminder-list]");
  if (dialogRows === null && list) {
    dialogRows = list.innerHTML;
    setUpReminders(form);
  }
  form.reset();
  if (list) {
    list.innerHTML = dialogRows;
  }
  form.querySelectorAll("select[multiple]").forEach((select) => {
    if (select.tomselect) {
      select.tomselect.clear();
    }
  });
  const who = dialog.querySelector("[data-calendar-for]");
  if (who) {
    who.hidden = !forName;
    who.textContent = forName || "";
  }
  dialog.querySelector("[data-calendar-error]").hidden = true;
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        if (dialog.returnValue === "more") {
          resolve({ more: true, data: new FormData(form) });
        } else if (dialog.returnValue === "save") {
          resolve({ more: false, data: new FormData(form) });
        } else {
          resolve(null);
        }
      },
      { once: true },
    );
    dialog.showModal();
    form.querySelector("[name=subject]").focus();
  });
}

const UNIT_MINUTES = { minutes: 1, hours: 60, days: 1440 };

function remindersOf(data) {
  const amounts = data.getAll("reminder_amount");
  const units = data.getAll("reminder_unit");
  const minutes = new Set();
  amounts.forEach((raw, index) => {
    const amount = Number.parseInt(raw, 10);
    if (raw !== "" && Number.isFinite(amount) && amount >= 0) {
      minutes.add(amount * (UNIT_MINUTES[units[index]] || 1));
    }
  });
  return Array.from(minutes).sort((a, b) => a - b);
}

function localDay(date) {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}-${String(date.getDate()).padStart(2, "0")}`;
}

// Create an event from a click or a selection: the dialog's values, in `owner`'s calendar when given.
async function createEvent({ eventsUrl, info, related, owner, ownerName, refetch }) {
  const answer = await askNewEvent(ownerName);
  if (!answer) {
    return;
  }
  const values = answer.data;
  const body = {
    subject: values.get("subject") || "",
    activity_type: values.get("activity_type"),
    location: values.get("location") || "",
    rrule: values.get("rrule") || "",
    start: info.startStr,
    end: info.endStr,
    all_day: info.allDay,
    time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
    reminders: remindersOf(values),
    invitees: values.getAll("invitees").map(Number),
  };
  if (info.allDay) {
    body.start = `${info.startStr.slice(0, 10)}T00:00:00`;
    body.end = `${localDay(new Date(info.end.getTime() - 1000))}T23:59:59`;
  }
  if (related) {
    body.related_to = related;
  }
  if (owner) {
    body.owner = Number(owner);
  }
  if (answer.more) {
    // The full form, with what was typed: invitees, reminders and recurrence are chosen there.
    const query = new URLSearchParams({ start: body.start, end: body.end, subject: body.subject });
    query.set("activity_type", body.activity_type || "meeting");
    if (body.location) {
      query.set("location", body.location);
    }
    if (info.allDay) {
      query.set("all_day", "1");
    }
    if (related) {
      query.set("related", `${related.module}:${related.id}`);
    }
    body.invitees.forEach((id) => query.append("invitee", String(id)));
    const more = document.querySelector("[data-calendar-more]");
    window.location.href = `${more ? more.dataset.url : "/m/events/new/"}?${query}`;
    return;
  }
  try {
    await api(eventsUrl, "POST", body);
  } catch (error) {
    window.alert(error.message);
  }
  refetch();
}

// Move or resize (drag): PATCH the event, asking "this / following / all" for a repeating one.
async function changeEvent({ eventsUrl, info, refetch }) {
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
      const first = await api(`${eventsUrl}${row.id}/`, "GET");
      const start = new Date(new Date(first.start).getTime() + delta);
      body.start = start.toISOString();
      body.end = new Date(start.getTime() + length).toISOString();
    }
  }
  try {
    await api(`${eventsUrl}${row.id}/`, "PATCH", body);
  } catch (error) {
    info.revert();
    window.alert(error.message);
  }
  refetch();
}

function openEvent(info) {
  const { row, kind } = info.event.extendedProps;
  info.jsEvent.preventDefault();
  const base = `/m/${kind === "task" ? "tasks" : "events"}/${row.id}/`;
  window.location.href = row.occurrence ? `${base}?occurrence=${encodeURIComponent(row.occurrence)}` : base;
}

// Press and hold on a touch screen to drag or to select (FullCalendar's default is a full second).
const TOUCH = { longPressDelay: 400, eventLongPressDelay: 400, selectLongPressDelay: 400 };

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
    ...TOUCH,
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
    eventClick: openEvent,
    eventDrop: (info) => changeEvent({ eventsUrl: root.dataset.eventsUrl, info, refetch }),
    eventResize: (info) => changeEvent({ eventsUrl: root.dataset.eventsUrl, info, refetch }),
  });

  function refetch() {
    calendar.refetchEvents();
  }

  function create(info) {
    return createEvent({ eventsUrl: root.dataset.eventsUrl, info, related, refetch });
  }

  calendar.render();
  root.calendar = calendar;
}

function setUpTeam(root) {
  const members = JSON.parse(document.getElementById("calendar-members").textContent);
  const byId = Object.fromEntries(members.map((m) => [String(m.id), m]));
  const dateInput = document.querySelector("[data-team-date]");
  const boxes = Array.from(document.querySelectorAll("[data-team-member]"));
  const eventsUrl = root.dataset.eventsUrl;
  if (!dateInput.value) {
    dateInput.value = localDay(new Date());
  }
  const calendars = [];
  function refetchAll() {
    calendars.forEach((c) => c.refetchEvents());
  }
  function render() {
    calendars.forEach((c) => c.destroy());
    calendars.splice(0);
    root.replaceChildren();
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    for (const id of chosen) {
      const person = byId[id] || { name: id, can_schedule: false };
      const canSchedule = Boolean(person.can_schedule);
      const column = document.createElement("section");
      column.className = "team-column";
      column.dataset.teamColumn = id;
      const title = document.createElement("h2");
      title.textContent = person.name;
      column.append(title);
      const host = document.createElement("div");
      let calendar = null;
      const create = (info) =>
        createEvent({ eventsUrl, info, owner: id, ownerName: person.name, refetch: refetchAll });
      if (canSchedule) {
        // The keyboard way in (FullCalendar's grid takes clicks and drags only): the next full hour.
        const add = document.createElement("button");
        add.type = "button";
        add.className = "button button--small button--ghost";
        add.textContent = root.dataset.addLabel || "+";
        add.setAttribute("aria-label", `${root.dataset.addLabel || "+"}: ${person.name}`);
        add.addEventListener("click", () => {
          const [year, month, day] = dateInput.value.split("-").map(Number);
          const now = new Date();
          const start = new Date(year, month - 1, day, Math.min(Math.max(now.getHours() + 1, 8), 19), 0, 0);
          const end = new Date(start.getTime() + 3600000);
          create({ start, end, allDay: false, startStr: start.toISOString(), endStr: end.toISOString() });
        });
        title.append(" ", add);
      }
      column.append(host);
      root.append(column);
      calendar = new Calendar(host, {
        plugins: [timeGridPlugin, interactionPlugin],
        initialView: "timeGridDay",
        initialDate: dateInput.value,
        headerToolbar: false,
        allDaySlot: true,
        height: "auto",
        locales: [ruLocale],
        locale: root.dataset.locale,
        ...clockOptions(root),
        ...TOUCH,
        slotMinTime: "07:00:00",
        slotMaxTime: "20:00:00",
        editable: true,
        selectable: canSchedule,
        selectMirror: true,
        selectMinDistance: 5,
        events: async (info) => {
          const query = new URLSearchParams({ start: info.startStr, end: info.endStr, members: id });
          const data = await api(`${eventsUrl}?${query}`, "GET");
          return data.results.map(toEvent);
        },
        dateClick: (info) => {
          if (!canSchedule) {
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
        eventClick: openEvent,
        eventDrop: (info) => changeEvent({ eventsUrl, info, refetch: refetchAll }),
        eventResize: (info) => changeEvent({ eventsUrl, info, refetch: refetchAll }),
      });
      calendar.render();
      calendars.push(calendar);
    }
  }
  dateInput.addEventListener("change", render);
  boxes.forEach((b) => b.addEventListener("change", render));
  render();
  root.calendars = calendars;
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
