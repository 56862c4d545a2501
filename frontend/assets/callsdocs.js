// Calls and documents: the incoming-call popup (polls the member's ringing calls) and small form helpers.

const RINGING_URL = "/api/v1/telephony/ringing";
const POLL_MS = 5000;

function text(tag, value, className) {
  const el = document.createElement(tag);
  el.textContent = value;
  if (className) el.className = className;
  return el;
}

function showCall(box, call, dismissed) {
  const card = document.createElement("div");
  card.className = "call-popup__card";
  card.dataset.callPopup = call.id;
  card.append(text("strong", box.dataset.title || "Incoming call"), text("span", call.number, "call-popup__number"));
  const list = document.createElement("ul");
  for (const match of call.matches) {
    const item = document.createElement("li");
    const link = text("a", `${match.label}: ${match.title}`);
    link.href = match.url;
    item.append(link);
    list.append(item);
  }
  if (!call.matches.length) list.append(text("li", box.dataset.unknown || "Unknown number", "muted"));
  const open = text("a", box.dataset.open || "Open call");
  open.href = call.url;
  const close = text("button", "×", "link-button call-popup__close");
  close.type = "button";
  close.setAttribute("aria-label", box.dataset.dismiss || "Dismiss");
  close.addEventListener("click", () => {
    dismissed.add(call.id);
    card.remove();
  });
  card.append(list, open, close);
  box.append(card);
}

function startRingingPoll() {
  // Only on pages of a signed-in workspace member: the app shell (base.html renders `body.has-shell` only
  // for them). Public and partner-portal pages have no shell and never poll.
  if (!document.body.classList.contains("has-shell")) return;
  // A plain live region (an <aside> may not take role="status"); assertive: a ringing call interrupts.
  const box = document.createElement("div");
  box.className = "call-popup";
  box.setAttribute("role", "status");
  box.setAttribute("aria-live", "assertive");
  document.body.append(box);
  const dismissed = new Set();
  let timer = null;

  async function poll() {
    if (document.hidden) return;
    let response;
    try {
      response = await fetch(RINGING_URL, { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch {
      return;
    }
    if (!response.ok) {
      if ([401, 403, 404].includes(response.status)) window.clearInterval(timer);
      return;
    }
    const data = await response.json();
    Object.assign(box.dataset, data.labels || {});
    const ringing = data.results.filter((call) => !dismissed.has(call.id));
    const shown = new Set([...box.querySelectorAll("[data-call-popup]")].map((el) => el.dataset.callPopup));
    for (const el of box.querySelectorAll("[data-call-popup]")) {
      if (!ringing.some((call) => call.id === el.dataset.callPopup)) el.remove();
    }
    for (const call of ringing) if (!shown.has(call.id)) showCall(box, call, dismissed);
  }

  timer = window.setInterval(poll, POLL_MS);
  poll();
}

function fillNow() {
  // "Log a call": the start time defaults to now, in the browser's time zone.
  for (const input of document.querySelectorAll("input[data-calls-now]")) {
    if (input.value) continue;
    const now = new Date();
    now.setMinutes(now.getMinutes() - now.getTimezoneOffset());
    input.value = now.toISOString().slice(0, 16);
  }
}

function onReady(fn) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
  else fn();
}

onReady(() => {
  fillNow();
  startRingingPoll();
});
