// App side of UI extensions: load from https://<workspace>/static/frontend/app-sdk.js (or copy it) in the
// page your frame shows; it exposes window.KestrelApp (docs/marketplace-extensions.md).
//   KestrelApp.init({ host: "https://acme.crm.example" })  -> says "ready"; host is the workspace origin
//   await KestrelApp.getContext()                           -> the signed context (verify it on your server)
//   KestrelApp.openRecord("organizations", 42); KestrelApp.toast("Saved", "success");
//   KestrelApp.refresh(); KestrelApp.resize(420);
// Messages go only to the host origin given to init(), and only replies from that origin (and from the
// parent window) are accepted.
let hostOrigin = null;
let counter = 0;
const waiting = new Map();

function send(message) {
  if (!hostOrigin) throw new Error("KestrelApp.init({host}) first");
  window.parent.postMessage({ kestrel: 1, ...message }, hostOrigin);
}

window.addEventListener("message", (event) => {
  if (event.source !== window.parent || event.origin !== hostOrigin) return;
  const data = event.data;
  if (!data || data.kestrel !== 1 || !waiting.has(data.id)) return;
  waiting.get(data.id)(data);
  waiting.delete(data.id);
});

function request(type, extra = {}) {
  counter += 1;
  const id = counter;
  return new Promise((resolve, reject) => {
    waiting.set(id, resolve);
    setTimeout(() => {
      if (waiting.delete(id)) reject(new Error(`${type}: no answer from the host`));
    }, 5000);
    send({ type, id, ...extra });
  });
}

export function init({ host }) {
  hostOrigin = new URL(host).origin;
  send({ type: "ready" });
}

export async function getContext() {
  return (await request("getContext")).context;
}

export function openRecord(module, record) {
  send({ type: "openRecord", module, record: String(record) });
}

export function toast(text, level = "info") {
  send({ type: "toast", text: String(text), level });
}

export function refresh() {
  send({ type: "refresh" });
}

export function resize(height) {
  send({ type: "resize", height: Math.round(height) });
}
