// Site behaviour: htmx for partial updates, plus a few progressive enhancements.
import htmx from "htmx.org";
import "./settings.js";

window.htmx = htmx;

function onReady(fn) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fn);
  } else {
    fn();
  }
}

onReady(() => {
  // Phone layout: the menu button shows and hides the navigation.
  const toggle = document.querySelector("[data-nav-toggle]");
  const nav = document.getElementById("main-nav");
  if (toggle && nav) {
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      nav.classList.toggle("nav--open", !open);
    });
  }

  // The language picker submits itself when changed.
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form && select.form.submit());
  });

  // A freshly created token is selected when focused, ready to copy.
  document.querySelectorAll("[data-select-on-focus]").forEach((el) => {
    el.addEventListener("focus", () => {
      const range = document.createRange();
      range.selectNodeContents(el);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    });
  });

  // Long-running submits (creating a workspace) show that work is in progress and cannot be sent twice.
  document.querySelectorAll("form").forEach((form) => {
    form.addEventListener("submit", () => {
      const button = form.querySelector("button[type=submit][data-busy-label]");
      if (button) {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
        button.textContent = button.dataset.busyLabel;
      }
    });
  });

  // After a failed submit, move focus to the first field with an error.
  const invalid = document.querySelector("[aria-invalid='true']");
  if (invalid) {
    invalid.focus();
  }
});
