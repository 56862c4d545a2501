// Host side of app UI extensions (marketplace/ui, docs/marketplace-extensions.md): every
// [data-app-frame] box gets its sandboxed <iframe> once it scrolls into view, so an app never blocks the
// page. Messages are accepted only from that frame's window AND the app's declared origin; anything else
// is ignored. A frame that does not say "ready" within 10 s (or fails to load) shows an error inside its
// own box. Protocol: {kestrel: 1, type, id?, ...}; requests from the app: ready, getContext, openRecord
// {module, record}, toast {text, level}, refresh, resize {height}.
import { showToast } from "./components.js";

const READY_TIMEOUT_MS = 10000;
const frames = new Map(); // contentWindow -> state

function reply(state, message) {
  state.frame.contentWindow.postMessage({ kestrel: 1, ...message }, state.origin);
}

async function freshContext(state) {
  const response = await fetch(state.box.dataset.refresh, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`context ${response.status}`);
  state.context = (await response.json()).context;
  return state.context;
}

// The app learns which workspace frames it from the fragment (never sent to its server): #host=<origin>.
function frameUrl(box) {
  return `${box.dataset.src}#host=${encodeURIComponent(window.location.origin)}`;
}

function fail(state) {
  if (state.ready) return;
  const body = state.box.querySelector(".app-frame__body");
  body.replaceChildren();
  const note = document.createElement("p");
  note.className = "app-frame__error";
  note.setAttribute("role", "alert");
  note.textContent = state.box.dataset.failed;
  body.append(note);
  state.box.dataset.appFrameState = "failed";
}

function mount(box) {
  if (box.dataset.appFrameState) return;
  box.dataset.appFrameState = "loading";
  const body = box.querySelector(".app-frame__body");
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", box.dataset.sandbox);
  frame.setAttribute("loading", "lazy");
  frame.setAttribute("referrerpolicy", "no-referrer");
  frame.title = box.dataset.title;
  frame.className = "app-frame__frame";
  frame.style.width = "100%";
  frame.style.border = "0";
  frame.style.height = `${parseInt(box.dataset.height, 10) || 240}px`;
  const state = { box, frame, origin: box.dataset.origin, context: box.dataset.context, ready: false };
  frame.addEventListener("error", () => fail(state));
  frame.src = frameUrl(box);
  body.append(frame);
  frames.set(frame.contentWindow, state);
  state.timer = setTimeout(() => fail(state), READY_TIMEOUT_MS);
}

async function onMessage(event) {
  const state = frames.get(event.source);
  // Only the frame we created, and only while it shows the app's declared origin.
  if (!state || event.origin !== state.origin) return;
  const data = event.data;
  if (!data || data.kestrel !== 1 || typeof data.type !== "string") return;
  switch (data.type) {
    case "ready":
      state.ready = true;
      clearTimeout(state.timer);
      state.box.dataset.appFrameState = "ready";
      state.box.querySelector(".app-frame__status")?.remove();
      break;
    case "getContext": {
      let context = state.context;
      try {
        const [, payload] = context.split(".");
        const { exp } = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
        if (exp * 1000 - Date.now() < 30000) context = await freshContext(state);
      } catch (error) {
        context = await freshContext(state).catch(() => state.context);
      }
      reply(state, { type: "context", id: data.id, context });
      break;
    }
    case "openRecord":
      if (/^[a-z][a-z0-9_]{0,39}$/.test(data.module || "") && /^[\w-]{1,64}$/.test(String(data.record || ""))) {
        window.location.assign(`/m/${data.module}/${data.record}/`);
      }
      break;
    case "toast":
      showToast(String(data.text || "").slice(0, 300), ["info", "success", "warning", "error"].includes(data.level) ? data.level : "info");
      break;
    case "refresh":
      await freshContext(state).catch(() => null);
      state.ready = false;
      state.frame.src = frameUrl(state.box);
      state.timer = setTimeout(() => fail(state), READY_TIMEOUT_MS);
      break;
    case "resize": {
      const height = Math.max(80, Math.min(1200, parseInt(data.height, 10) || 0));
      state.frame.style.height = `${height}px`;
      break;
    }
    default:
  }
}

function setUp() {
  const boxes = document.querySelectorAll("[data-app-frame]");
  if (!boxes.length) return;
  window.addEventListener("message", onMessage);
  if ("IntersectionObserver" in window) {
    const observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          mount(entry.target);
        }
      }
    }, { rootMargin: "200px" });
    boxes.forEach((box) => observer.observe(box));
  } else {
    boxes.forEach(mount);
  }
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", setUp);
} else {
  setUp();
}
