/* Kestrel web forms: progressive enhancement of the hosted page and the plain HTML variant (both work
 * without it, except a form with proof of work). It adds the page's UTM parameters, referrer and address
 * as hidden fields (a cross-origin form post carries no page address), and for a form with
 * data-kestrel-pow="<bits>" finds a nonce whose SHA-256 with the form's token ("<token>:<nonce>") starts
 * with that many zero bits before sending (hidden field "_pow"; crypto.subtle needs https or localhost).
 * Such a form first fetches a fresh signed token from the form's own "token.json" (the token pasted with
 * the plain variant grows too old for a proof, and each token proves one submission only).
 * No external call beyond the form's own host. */
(function () {
  "use strict";
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];

  function hidden(form, name, value) {
    if (!value || form.querySelector('input[name="' + name + '"]')) return;
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }

  function tell(form) {
    var params = new URLSearchParams(window.location.search);
    UTM.forEach(function (key) { hidden(form, key, params.get(key)); });
    hidden(form, "referrer", document.referrer);
    hidden(form, "landing_page", window.location.href);
  }

  function zeroBits(bytes) {
    var bits = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) { bits += 8; continue; }
      return bits + Math.clz32(bytes[i]) - 24;
    }
    return bits;
  }

  function solve(token, bits) {
    var encoder = new TextEncoder();
    var nonce = 0;
    function step() {
      var batch = [];
      for (var i = 0; i < 256; i++) {
        batch.push(crypto.subtle.digest("SHA-256", encoder.encode(token + ":" + (nonce + i))));
      }
      return Promise.all(batch).then(function (digests) {
        for (var j = 0; j < digests.length; j++) {
          if (zeroBits(new Uint8Array(digests[j])) >= bits) return String(nonce + j);
        }
        nonce += 256;
        return step();
      });
    }
    return step();
  }

  function arm(form) {
    if (form.hasAttribute("data-kestrel-ready")) return;
    form.setAttribute("data-kestrel-ready", "");
    tell(form);
    if (!form.hasAttribute("data-kestrel-pow")) return;
    var bits = parseInt(form.getAttribute("data-kestrel-pow"), 10);
    var tokenField = form.querySelector('input[name="_ts"]');
    var fresh = fetch(new URL("token.json", form.action).href, { mode: "cors", credentials: "omit", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(function (data) { if (data.token && tokenField) tokenField.value = data.token; })
      .catch(function () { /* keep the token the page carries */ });
    form.addEventListener("submit", function (event) {
      var field = form.querySelector('input[name="_pow"]');
      if (!field || field.value) return; // solved: let the browser send it
      event.preventDefault();
      var button = form.querySelector('[type="submit"]');
      if (button) button.disabled = true;
      fresh.then(function () { return solve(tokenField.value, bits); }).then(function (nonce) {
        field.value = nonce;
        if (button) button.disabled = false;
        HTMLFormElement.prototype.submit.call(form); // validated already; submit() fires no second event
      });
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form.kestrel-form"), arm);
  }

  window.KestrelPow = { solve: solve };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
