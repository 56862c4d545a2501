// Calls and documents: the incoming-call popup and small form helpers.
//
// The popup listens to the member's server-sent events (RINGING_STREAM_URL: the ringing calls, pushed when
// a provider event changes one; the server ends each stream after a while and EventSource reconnects). When
// EventSource is missing, or the stream fails before it ever delivered (a proxy that buffers, a sync
// worker that refuses long requests), or closes for good, it falls back to polling RINGING_URL.

const RINGING_URL = "/api/v1/telephony/ringing";
const RINGING_STREAM_URL = "/api/v1/telephony/ringing/stream";
const POLL_MS = 5000;
// Failures in a row (without a single delivered event in between) before giving up on the stream.
const STREAM_FAILURES = 3;

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

  function render(data) {
    Object.assign(box.dataset, data.labels || {});
    const ringing = data.results.filter((call) => !dismissed.has(call.id));
    const shown = new Set([...box.querySelectorAll("[data-call-popup]")].map((el) => el.dataset.callPopup));
    for (const el of box.querySelectorAll("[data-call-popup]")) {
      if (!ringing.some((call) => call.id === el.dataset.callPopup)) el.remove();
    }
    for (const call of ringing) if (!shown.has(call.id)) showCall(box, call, dismissed);
  }

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
    render(await response.json());
  }

  function startPolling() {
    if (timer !== null) return;
    box.dataset.transport = "polling";
    timer = window.setInterval(poll, POLL_MS);
    poll();
  }

  if (typeof window.EventSource !== "function") {
    startPolling();
    return;
  }
  let failures = 0;
  const source = new window.EventSource(RINGING_STREAM_URL, { withCredentials: true });
  box.dataset.transport = "stream";
  source.addEventListener("ringing", (event) => {
    failures = 0;
    try {
      render(JSON.parse(event.data));
    } catch {
      // A malformed event: keep the popup as it is; the next one replaces it.
    }
  });
  source.addEventListener("error", () => {
    // EventSource reconnects by itself after the server's planned end ("bye") or a dropped connection;
    // it gives up (CLOSED) on an HTTP error or a wrong content type. Repeated failures without any event
    // delivered in between mean the stream does not work here: poll instead.
    failures += 1;
    if (source.readyState === window.EventSource.CLOSED || failures >= STREAM_FAILURES) {
      source.close();
      startPolling();
    }
  });
  source.addEventListener("bye", () => {
    failures = 0;
  });
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
