// Site behaviour: htmx for partial updates, plus a few progressive enhancements.
import htmx from "htmx.org";
import "./settings.js";
import "./access.js";
import "./rows.js";
import "./lists.js";
import "./components.js";
import "./shell.js";
import "./calendar.js";
import "./catalogue.js";
import "./gantt.js";
import "./mfa.js";
import "./automation.js";
import "./reports.js";
import "./dashboards.js";
import "./app-frames.js";

window.htmx = htmx;

function onReady(fn) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fn);
  } else {
    fn();
  }
}

onReady(() => {
  // Public pages on a phone: the menu button shows and hides the top navigation.
  const toggle = document.querySelector("[data-nav-toggle]");
  const nav = document.getElementById("main-nav");
  if (toggle && nav) {
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      nav.classList.toggle("nav--open", !open);
    });
  }

  // Selects marked data-autosubmit submit their form when changed (also inside htmx-swapped parts).
  document.addEventListener("change", (event) => {
    const select = event.target.closest && event.target.closest("select[data-autosubmit]");
    if (select && select.form) {
      select.form.submit();
    }
  });

  setUpReferencePickers();
  setUpBoard();

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
  const invalid = document.querySelector("[aria-invalid='true']:not([data-example])");
  if (invalid) {
    invalid.focus();
  }
});


function csrfToken() {
  const headers = document.body.getAttribute("hx-headers");
  try {
    return JSON.parse(headers)["X-CSRFToken"];
  } catch (error) {
    return "";
  }
}

// Record pickers: choosing a search result stores its id in the hidden input.
function setUpReferencePickers() {
  document.addEventListener("click", (event) => {
    const option = event.target.closest && event.target.closest("[data-reference-pick]");
    if (!option) {
      return;
    }
    const picker = option.closest("[data-reference]");
    picker.querySelector("[data-reference-value]").value = option.dataset.referencePick;
    picker.querySelector("[data-reference-search]").value = option.dataset.label;
    picker.querySelector(".reference__results").innerHTML = "";
  });
  document.addEventListener("input", (event) => {
    const search = event.target.closest && event.target.closest("[data-reference-search]");
    if (search && search.value === "") {
      search.closest("[data-reference]").querySelector("[data-reference-value]").value = "";
    }
  });
}

// A board (any module with a kanban field): drag a card onto another column; the server answers with
// fresh columns. The board names the URL to post to and the field that carries the column's value.
function setUpBoard() {
  const board = document.querySelector("[data-board]");
  if (!board) {
    return;
  }
  const template = board.dataset.moveUrlTemplate;
  const param = board.dataset.moveParam || "value";
  board.addEventListener("dragstart", (event) => {
    const card = event.target.closest("[data-card]");
    if (card) {
      event.dataTransfer.setData("text/plain", card.dataset.card);
      event.dataTransfer.effectAllowed = "move";
      card.classList.add("board__card--dragging");
    }
  });
  board.addEventListener("dragend", (event) => {
    const card = event.target.closest("[data-card]");
    if (card) {
      card.classList.remove("board__card--dragging");
    }
  });
  board.addEventListener("dragover", (event) => {
    const column = event.target.closest("[data-column]");
    if (column) {
      event.preventDefault();
      column.classList.add("board__column--over");
    }
  });
  board.addEventListener("dragleave", (event) => {
    const column = event.target.closest("[data-column]");
    if (column && !column.contains(event.relatedTarget)) {
      column.classList.remove("board__column--over");
    }
  });
  board.addEventListener("drop", async (event) => {
    const column = event.target.closest("[data-column]");
    const cardId = event.dataTransfer.getData("text/plain");
    if (!column || !cardId) {
      return;
    }
    event.preventDefault();
    column.classList.remove("board__column--over");
    const body = new URLSearchParams({ [param]: column.dataset.column });
    const response = await fetch(template.replace("00000000-0000-0000-0000-000000000000", cardId), {
      method: "POST",
      body,
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
      credentials: "same-origin",
    });
    if (response.ok) {
      board.innerHTML = await response.text();
      board.dispatchEvent(new CustomEvent("board:updated", { bubbles: true }));
    } else {
      window.alert(await response.text());
    }
  });
}
import "./forms.js";
import "./callsdocs.js";
import "./mail.js";
import "./firsthour.js";
import "./imports.js";
