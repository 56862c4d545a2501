/* Kestrel web forms: the built-in proof of work for the hosted page and the plain HTML variant. A form
 * with data-kestrel-pow="<bits>" is sent only once a nonce is found whose SHA-256 with the form's token
 * ("<token>:<nonce>") starts with that many zero bits; the nonce goes in the hidden "_pow" field.
 * Needs a secure context (https or localhost) for crypto.subtle. No external call. */
(function () {
  "use strict";

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
    if (form.hasAttribute("data-kestrel-pow-ready")) return;
    form.setAttribute("data-kestrel-pow-ready", "");
    var bits = parseInt(form.getAttribute("data-kestrel-pow"), 10);
    form.addEventListener("submit", function (event) {
      var field = form.querySelector('input[name="_pow"]');
      if (!field || field.value) return; // solved: let the browser send it
      event.preventDefault();
      var button = form.querySelector('[type="submit"]');
      if (button) button.disabled = true;
      solve(form.querySelector('input[name="_ts"]').value, bits).then(function (nonce) {
        field.value = nonce;
        if (button) button.disabled = false;
        if (form.requestSubmit) form.requestSubmit(button || undefined);
        else form.submit();
      });
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-kestrel-pow]"), arm);
  }

  window.KestrelPow = { solve: solve };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
