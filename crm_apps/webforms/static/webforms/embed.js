/* Kestrel web forms: renders each <div data-kestrel-form="https://<workspace>/f/<key>/"> on a site and
 * sends it cross-origin (the workspace answers with CORS headers for the sites its admin listed).
 * Builds the DOM with textContent only: nothing the server or the visitor sends becomes markup. */
(function () {
  "use strict";
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (attrs[key] !== undefined && attrs[key] !== null && attrs[key] !== false) node.setAttribute(key, attrs[key]);
    });
    if (text) node.textContent = text;
    return node;
  }

  function visit() {
    var params = new URLSearchParams(window.location.search);
    var told = { referrer: document.referrer || "", landing_page: window.location.href };
    UTM.forEach(function (key) {
      if (params.get(key)) told[key] = params.get(key);
    });
    return told;
  }

  function zeroBits(bytes) {
    var bits = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) { bits += 8; continue; }
      return bits + Math.clz32(bytes[i]) - 24;
    }
    return bits;
  }

  // The form's proof of work (def.pow): a nonce whose SHA-256 with the token starts with def.pow.bits zero bits.
  function solve(def) {
    if (!def.pow) return Promise.resolve(null);
    var encoder = new TextEncoder();
    var nonce = 0;
    function step() {
      var batch = [];
      for (var i = 0; i < 256; i++) {
        batch.push(crypto.subtle.digest("SHA-256", encoder.encode(def.token + ":" + (nonce + i))));
      }
      return Promise.all(batch).then(function (digests) {
        for (var j = 0; j < digests.length; j++) {
          if (zeroBits(new Uint8Array(digests[j])) >= def.pow.bits) return String(nonce + j);
        }
        nonce += 256;
        return step();
      });
    }
    return step();
  }

  function render(host, action, def) {
    var form = el("form", { class: "kestrel-form", method: "post", action: action, novalidate: "novalidate" });
    var status = el("p", { class: "kestrel-form__status", role: "status", "aria-live": "polite" });
    form.appendChild(el("input", { type: "hidden", name: def.token_name, value: def.token }));
    var trap = el("div", { "aria-hidden": "true", style: "position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden" });
    trap.appendChild(el("input", { type: "text", name: def.honeypot, tabindex: "-1", autocomplete: "off" }));
    form.appendChild(trap);
    var errors = {};
    def.fields.forEach(function (field, index) {
      var id = "kestrel-" + index + "-" + field.name;
      var box = el("div", { class: "kestrel-form__field" });
      box.appendChild(el("label", { for: id }, field.label + (field.required ? " *" : "")));
      var input =
        field.type === "textarea"
          ? el("textarea", { id: id, name: field.name, placeholder: field.placeholder || null, required: field.required })
          : el("input", { id: id, type: field.type, name: field.name, placeholder: field.placeholder || null, required: field.required });
      box.appendChild(input);
      errors[field.name] = box.appendChild(el("span", { class: "kestrel-form__error", "data-error-for": field.name }));
      form.appendChild(box);
    });
    if (def.consent) {
      var consent = el("div", { class: "kestrel-form__field" });
      var label = el("label");
      label.appendChild(el("input", { type: "checkbox", name: "consent", value: "1", required: true }));
      label.appendChild(document.createTextNode(" " + def.consent));
      consent.appendChild(label);
      errors.consent = consent.appendChild(el("span", { class: "kestrel-form__error", "data-error-for": "consent" }));
      form.appendChild(consent);
    }
    var button = el("button", { type: "submit" }, def.submit);
    form.appendChild(button);
    form.appendChild(status);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = new FormData(form);
      var told = visit();
      Object.keys(told).forEach(function (key) { body.append(key, told[key]); });
      Object.keys(errors).forEach(function (key) { errors[key].textContent = ""; });
      button.disabled = true;
      status.textContent = def.sending;
      solve(def)
        .then(function (nonce) {
          if (nonce !== null) body.set(def.pow.field, nonce);
          return fetch(action, { method: "POST", body: body, mode: "cors", credentials: "omit", headers: { Accept: "application/json" } });
        })
        .then(function (response) { return response.json().then(function (data) { return { ok: response.ok, data: data }; }); })
        .then(function (result) {
          button.disabled = false;
          if (result.ok) {
            if (result.data.redirect) { window.location.assign(result.data.redirect); return; }
            host.replaceChildren(el("p", { class: "kestrel-form__done", role: "status" }, result.data.message));
            return;
          }
          status.textContent = result.data.message || "";
          var problems = result.data.errors || {};
          Object.keys(problems).forEach(function (key) {
            if (errors[key]) errors[key].textContent = problems[key].join(" ");
            else status.textContent += " " + problems[key].join(" ");
          });
        })
        .catch(function () {
          button.disabled = false;
          status.textContent = "…";
        });
    });
    host.replaceChildren(form);
  }

  function start() {
    var hosts = document.querySelectorAll("[data-kestrel-form]");
    Array.prototype.forEach.call(hosts, function (host) {
      if (host.hasAttribute("data-kestrel-ready")) return; // a page may include the script once per form
      host.setAttribute("data-kestrel-ready", "");
      var action = host.getAttribute("data-kestrel-form");
      var query = new URLSearchParams();
      var told = visit();
      UTM.forEach(function (key) { if (told[key]) query.set(key, told[key]); });
      fetch(action + "definition.json?" + query.toString(), { mode: "cors", credentials: "omit", headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (def) { if (def.fields) render(host, action, def); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
