// Security keys and passkeys (WebAuthn) on the MFA pages: register a named key, sign in with one.
// The server (py_webauthn) sends options as JSON with base64url fields; the browser's API wants bytes.

function fromB64url(value) {
  const base64 = value.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
}

function toB64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  bytes.forEach((b) => {
    text += String.fromCharCode(b);
  });
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function descriptors(list) {
  return (list || []).map((item) => ({ ...item, id: fromB64url(item.id) }));
}

async function postForm(url, form, extra) {
  const body = new FormData(form);
  Object.entries(extra || {}).forEach(([key, value]) => body.set(key, value));
  const response = await fetch(url, { method: "POST", body, credentials: "same-origin", headers: { Accept: "application/json" } });
  const data = await response.json().catch(() => ({}));
  return { ok: response.ok, data };
}

function showError(form, message) {
  const box = form.querySelector("[data-webauthn-error]");
  if (box) {
    box.textContent = message;
    box.hidden = false;
  }
}

function errorText(data, fallback) {
  const errors = data && data.errors ? Object.values(data.errors).flat() : [];
  return errors.join(" ") || (data && data.detail) || fallback;
}

async function register(form) {
  if (!window.PublicKeyCredential) return showError(form, form.dataset.unsupported);
  const start = await postForm(form.dataset.optionsUrl, form);
  if (!start.ok) return showError(form, errorText(start.data, form.dataset.failed));
  const options = start.data;
  let credential;
  try {
    credential = await navigator.credentials.create({
      publicKey: {
        ...options,
        challenge: fromB64url(options.challenge),
        user: { ...options.user, id: fromB64url(options.user.id) },
        excludeCredentials: descriptors(options.excludeCredentials),
      },
    });
  } catch (error) {
    return showError(form, form.dataset.failed);
  }
  const payload = {
    id: credential.id,
    rawId: toB64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: toB64url(credential.response.clientDataJSON),
      attestationObject: toB64url(credential.response.attestationObject),
      transports: credential.response.getTransports ? credential.response.getTransports() : [],
    },
    clientExtensionResults: credential.getClientExtensionResults(),
  };
  const done = await postForm(form.dataset.registerUrl, form, { credential: JSON.stringify(payload) });
  if (!done.ok) return showError(form, errorText(done.data, form.dataset.failed));
  window.location.assign(done.data.redirect);
  return undefined;
}

async function signin(form) {
  if (!window.PublicKeyCredential) return showError(form, form.dataset.unsupported);
  const start = await postForm(form.dataset.optionsUrl, form);
  if (!start.ok) return showError(form, errorText(start.data, form.dataset.failed));
  const options = start.data;
  let assertion;
  try {
    assertion = await navigator.credentials.get({
      publicKey: { ...options, challenge: fromB64url(options.challenge), allowCredentials: descriptors(options.allowCredentials) },
    });
  } catch (error) {
    return showError(form, form.dataset.failed);
  }
  const payload = {
    id: assertion.id,
    rawId: toB64url(assertion.rawId),
    type: assertion.type,
    response: {
      clientDataJSON: toB64url(assertion.response.clientDataJSON),
      authenticatorData: toB64url(assertion.response.authenticatorData),
      signature: toB64url(assertion.response.signature),
      userHandle: assertion.response.userHandle ? toB64url(assertion.response.userHandle) : null,
    },
    clientExtensionResults: assertion.getClientExtensionResults(),
  };
  const done = await postForm(form.dataset.verifyUrl, form, { credential: JSON.stringify(payload) });
  if (!done.ok) return showError(form, errorText(done.data, form.dataset.failed));
  window.location.assign(done.data.redirect);
  return undefined;
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  if (form.matches("[data-webauthn-register]")) {
    event.preventDefault();
    register(form);
  } else if (form.matches("[data-webauthn-signin]")) {
    event.preventDefault();
    signin(form);
  }
});
