// Lists, record pages and boards: keyboard navigation, in-place editing of one field, the column picker
// (order by drag or buttons, widths by dragging a header's edge), density, the bulk bar, and the board's
// scroll cues and collapsible columns. Without JavaScript every screen still works through its forms.

function ready(fn) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fn);
  } else {
    fn();
  }
}

function csrf() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (input) {
    return input.value;
  }
  try {
    return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  } catch (error) {
    return "";
  }
}

function typing(target) {
  return target.closest && target.closest("input, select, textarea, [contenteditable], [data-cell-editor]");
}

// ---------------------------------------------------------------------------------------------------
// In-place editing: any element with data-edit (a list cell, a record field, a board card's amount).

const editing = new WeakMap();

async function openEditor(cell) {
  if (editing.has(cell)) {
    return;
  }
  editing.set(cell, cell.innerHTML);
  const response = await fetch(cell.dataset.edit, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
  const text = await response.text();
  if (!response.ok) {
    showError(cell, text);
    return;
  }
  cell.innerHTML = text;
  cell.classList.add("is-editing");
  if (window.htmx) {
    window.htmx.process(cell); // record pickers search through htmx
  }
  const field = cell.querySelector("input:not([type=hidden]), select, textarea");
  if (field) {
    field.focus();
    if (field.select && field.type !== "checkbox") {
      field.select();
    }
  }
}

function showError(cell, message) {
  const original = editing.get(cell);
  cell.innerHTML = original === undefined ? cell.innerHTML : original;
  const note = document.createElement("p");
  note.className = "cell-editor__error";
  note.setAttribute("role", "alert");
  note.textContent = message;
  cell.appendChild(note);
  editing.delete(cell);
}

function closeEditor(cell, html) {
  const original = editing.get(cell);
  editing.delete(cell);
  cell.classList.remove("is-editing");
  cell.innerHTML = html === undefined ? original : html;
  cell.focus();
}

async function saveEditor(cell) {
  // The editor's <form> may have been dropped by the parser (a cell inside the list's own form): collect
  // the fields of the cell instead.
  const body = new FormData();
  cell.querySelectorAll("input, select, textarea").forEach((el) => {
    if (!el.name || el.disabled) {
      return;
    }
    if ((el.type === "checkbox" || el.type === "radio") && !el.checked) {
      return;
    }
    if (el.multiple) {
      Array.from(el.selectedOptions).forEach((option) => body.append(el.name, option.value));
    } else {
      body.append(el.name, el.value);
    }
  });
  const response = await fetch(cell.dataset.edit, {
    method: "POST",
    body,
    credentials: "same-origin",
    headers: { "X-CSRFToken": csrf(), "X-Requested-With": "fetch" },
  });
  const text = await response.text();
  if (response.ok) {
    closeEditor(cell, text);
    cell.classList.remove("is-saved");
    void cell.offsetWidth;
    cell.classList.add("is-saved");
    cell.dispatchEvent(new CustomEvent("cell:saved", { bubbles: true }));
  } else if (response.status === 403) {
    showError(cell, text);
  } else {
    cell.innerHTML = text; // the editor again, with the error beside the field
    const field = cell.querySelector("input:not([type=hidden]), select, textarea");
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }
  }
}

function setUpInlineEditing() {
  document.addEventListener("click", (event) => {
    const target = event.target;
    const cancel = target.closest && target.closest("[data-cell-cancel]");
    const cell = target.closest && target.closest("[data-edit]");
    if (!cell) {
      return;
    }
    if (cancel) {
      event.preventDefault();
      closeEditor(cell);
      return;
    }
    if (target.closest("button[type=submit]") && editing.has(cell)) {
      event.preventDefault();
      saveEditor(cell);
      return;
    }
    if (editing.has(cell) || target.closest("a, input, select, button, label")) {
      return;
    }
    openEditor(cell);
  });
  document.addEventListener("keydown", (event) => {
    const cell = event.target.closest && event.target.closest("[data-edit]");
    if (!cell) {
      return;
    }
    if (editing.has(cell)) {
      if (event.key === "Escape") {
        event.preventDefault();
        closeEditor(cell);
      } else if (event.key === "Enter" && event.target.tagName !== "TEXTAREA" && !event.target.closest("button")) {
        event.preventDefault();
        saveEditor(cell);
      }
      event.stopPropagation();
      return;
    }
    if (event.target === cell && (event.key === "Enter" || event.key === "F2")) {
      event.preventDefault();
      event.stopPropagation();
      openEditor(cell);
    }
  });
  document.addEventListener("submit", (event) => {
    const cell = event.target.closest && event.target.closest("[data-edit]");
    if (cell && editing.has(cell)) {
      event.preventDefault();
      saveEditor(cell);
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// The record list.

function setUpList() {
  const table = document.querySelector("[data-records]");
  const form = document.getElementById("mass-form");
  const bar = document.querySelector("[data-bulk-bar]");
  const panel = document.querySelector("[data-filter-panel]");
  if (panel && window.matchMedia("(max-width: 40rem)").matches) {
    panel.removeAttribute("open"); // phones: filters start collapsed
  }
  if (!table || !form) {
    return;
  }
  const layoutData = document.getElementById("list-layout");
  const layout = layoutData ? JSON.parse(layoutData.textContent) : {};
  const layoutForm = document.querySelector("[data-layout-form]");
  const saved = layoutForm && layoutForm.querySelector("input[name=saved]");

  // Bulk bar: only while something is selected.
  const updateBar = () => {
    const selected = form.querySelectorAll("input[name=ids]:checked").length;
    if (bar) {
      bar.hidden = selected === 0;
      const count = bar.querySelector("[data-bulk-count]");
      if (count) {
        count.textContent = selected ? (count.dataset.label || "%(n)s").replace("%(n)s", String(selected)) : "";
      }
    }
  };
  form.addEventListener("change", (event) => {
    if (event.target.name === "ids") {
      updateBar();
    }
  });
  updateBar();

  async function saveLayout(changes) {
    Object.assign(layout, changes);
    const body = { ...layout };
    if (saved) {
      body.saved = saved.value;
    }
    await fetch(layoutForm.dataset.layoutUrl, {
      method: "POST",
      body: JSON.stringify(body),
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
    });
  }

  // Density.
  const density = document.querySelector("[data-density-toggle]");
  if (density) {
    density.addEventListener("click", () => {
      const compact = !table.classList.contains("records--compact");
      table.classList.toggle("records--compact", compact);
      table.classList.toggle("records--comfortable", !compact);
      density.setAttribute("aria-pressed", String(compact));
      saveLayout({ density: compact ? "compact" : "comfortable" });
    });
  }

  // Column widths: drag a header's right edge, or focus it and press ←/→ (10 px a step).
  const saveWidth = (th, handle) => {
    const widths = { ...(layout.widths || {}) };
    widths[th.dataset.col] = parseInt(th.style.width, 10);
    handle.setAttribute("aria-valuenow", String(widths[th.dataset.col]));
    saveLayout({ widths });
  };
  let widthTimer = null;
  table.querySelectorAll("[data-col-resize]").forEach((handle) => {
    const th = handle.closest("th");
    if (!th.style.width) {
      handle.setAttribute("aria-valuenow", String(Math.round(th.getBoundingClientRect().width)));
    }
    handle.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") {
        return;
      }
      event.preventDefault();
      event.stopPropagation();
      const width = th.getBoundingClientRect().width + (event.key === "ArrowRight" ? 10 : -10);
      th.style.width = `${Math.max(60, Math.min(800, Math.round(width)))}px`;
      handle.setAttribute("aria-valuenow", String(parseInt(th.style.width, 10)));
      window.clearTimeout(widthTimer);
      widthTimer = window.setTimeout(() => saveWidth(th, handle), 400);
    });
  });
  table.querySelectorAll("[data-col-resize]").forEach((handle) => {
    handle.addEventListener("mousedown", (event) => {
      event.preventDefault();
      const th = handle.closest("th");
      const startX = event.clientX;
      const startWidth = th.getBoundingClientRect().width;
      handle.classList.add("col-resize--active");
      const move = (e) => {
        th.style.width = `${Math.max(60, Math.min(800, Math.round(startWidth + e.clientX - startX)))}px`;
      };
      const up = () => {
        document.removeEventListener("mousemove", move);
        document.removeEventListener("mouseup", up);
        handle.classList.remove("col-resize--active");
        saveWidth(th, handle);
      };
      document.addEventListener("mousemove", move);
      document.addEventListener("mouseup", up);
    });
  });

  // Keyboard: j/k move between rows, Enter opens, x selects; ←/→ move between a row's editable cells.
  const rows = () => Array.from(table.querySelectorAll("tr[data-row]"));
  const focusRow = (row) => {
    if (row) {
      row.focus();
      row.scrollIntoView({ block: "nearest" });
    }
  };
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    const current = event.target.closest && event.target.closest("tr[data-row]");
    const list = rows();
    if (event.key === "j" || event.key === "k") {
      event.preventDefault();
      const index = current ? list.indexOf(current) : -1;
      const next = event.key === "j" ? Math.min(index + 1, list.length - 1) : Math.max(index - 1, 0);
      focusRow(list[next]);
    } else if (current && event.key === "Enter" && event.target === current) {
      event.preventDefault();
      window.location.assign(current.dataset.url);
    } else if (current && event.key === "x") {
      event.preventDefault();
      const box = current.querySelector("input[name=ids]");
      box.checked = !box.checked;
      updateBar();
    } else if (current && (event.key === "ArrowRight" || event.key === "ArrowLeft")) {
      const cells = Array.from(current.querySelectorAll("td[data-edit]"));
      if (!cells.length) {
        return;
      }
      event.preventDefault();
      const at = cells.indexOf(event.target);
      if (event.key === "ArrowRight") {
        cells[Math.min(at + 1, cells.length - 1)].focus();
      } else if (at <= 0) {
        current.focus();
      } else {
        cells[at - 1].focus();
      }
    } else if (current && event.key === "Escape" && event.target !== current) {
      current.focus();
    }
  });

  // Column picker: order by drag or the arrow buttons; the form posts the ticked columns in order.
  const columnList = document.querySelector("[data-column-list]");
  if (columnList) {
    let dragged = null;
    columnList.addEventListener("click", (event) => {
      const button = event.target.closest("[data-move]");
      if (!button) {
        return;
      }
      const item = button.closest("li");
      if (button.dataset.move === "up" && item.previousElementSibling) {
        item.parentNode.insertBefore(item, item.previousElementSibling);
      } else if (button.dataset.move === "down" && item.nextElementSibling) {
        item.parentNode.insertBefore(item.nextElementSibling, item);
      }
      button.focus();
    });
    columnList.addEventListener("dragstart", (event) => {
      dragged = event.target.closest("li");
      if (dragged) {
        dragged.classList.add("column-picker__item--dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", dragged.dataset.columnName);
      }
    });
    columnList.addEventListener("dragover", (event) => {
      const over = event.target.closest("li");
      if (dragged && over && over !== dragged) {
        event.preventDefault();
        columnList.querySelectorAll(".column-picker__item--over").forEach((li) => li.classList.remove("column-picker__item--over"));
        over.classList.add("column-picker__item--over");
      }
    });
    columnList.addEventListener("drop", (event) => {
      const over = event.target.closest("li");
      if (dragged && over && over !== dragged) {
        event.preventDefault();
        over.parentNode.insertBefore(dragged, over);
      }
    });
    columnList.addEventListener("dragend", () => {
      if (dragged) {
        dragged.classList.remove("column-picker__item--dragging");
      }
      columnList.querySelectorAll(".column-picker__item--over").forEach((li) => li.classList.remove("column-picker__item--over"));
      dragged = null;
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// Boards: scroll cues and keyboard scrolling, collapsible columns (remembered per board in this browser),
// fresh totals after a card's amount or date changed in place.

function setUpBoardFrame() {
  const board = document.querySelector("[data-board]");
  const frame = document.querySelector("[data-board-frame]");
  if (!board || !frame) {
    return;
  }
  const left = frame.querySelector("[data-board-scroll='-1']");
  const right = frame.querySelector("[data-board-scroll='1']");
  const storageKey = `board-collapsed:${board.dataset.boardKey || ""}`;
  const collapsed = new Set(JSON.parse(window.localStorage.getItem(storageKey) || "[]"));

  const cues = () => {
    const max = board.scrollWidth - board.clientWidth;
    left.hidden = board.scrollLeft <= 2;
    right.hidden = board.scrollLeft >= max - 2;
  };
  const step = (direction) => board.scrollBy({ left: direction * Math.max(board.clientWidth * 0.8, 200), behavior: "smooth" });
  frame.addEventListener("click", (event) => {
    const arrow = event.target.closest("[data-board-scroll]");
    if (arrow) {
      step(Number(arrow.dataset.boardScroll));
    }
  });
  board.addEventListener("scroll", cues, { passive: true });
  window.addEventListener("resize", cues);
  board.addEventListener("keydown", (event) => {
    if (event.target !== board) {
      return;
    }
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      event.preventDefault();
      step(event.key === "ArrowRight" ? 1 : -1);
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      board.scrollTo({ left: event.key === "Home" ? 0 : board.scrollWidth, behavior: "smooth" });
    }
  });

  const applyCollapsed = () => {
    board.querySelectorAll("[data-column]").forEach((column) => {
      const shut = collapsed.has(column.dataset.column);
      column.classList.toggle("board__column--collapsed", shut);
      const button = column.querySelector("[data-column-collapse]");
      if (button) {
        button.setAttribute("aria-expanded", String(!shut));
      }
    });
    cues();
  };
  board.addEventListener("click", (event) => {
    const button = event.target.closest("[data-column-collapse]");
    if (!button) {
      return;
    }
    const value = button.closest("[data-column]").dataset.column;
    if (collapsed.has(value)) {
      collapsed.delete(value);
    } else {
      collapsed.add(value);
    }
    window.localStorage.setItem(storageKey, JSON.stringify([...collapsed]));
    applyCollapsed();
  });
  board.addEventListener("board:updated", applyCollapsed);
  board.addEventListener("cell:saved", async () => {
    const response = await fetch(window.location.href, { credentials: "same-origin", headers: { "HX-Request": "true" } });
    if (response.ok) {
      board.innerHTML = await response.text();
      applyCollapsed();
    }
  });
  applyCollapsed();
}

ready(() => {
  setUpInlineEditing();
  setUpList();
  setUpBoardFrame();
});
