// Child tables on the edit form (engine/child_table.html): add, move and remove rows in the page
// and show each row's amount and the rows' total while typing. Without this script the same buttons
// submit the form and the server rearranges the rows; on save the server computes the real totals.

function onReady(fn) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fn);
  } else {
    fn();
  }
}

function number(value) {
  const parsed = parseFloat(String(value || "").replace(/\s/g, "").replace(",", "."));
  return Number.isFinite(parsed) ? parsed : 0;
}

// Totals as the server shows them: the member's separators come from the page (`data-number-sample` on
// <body>: 1234.5 rendered with the member's formats, e.g. "1,234.5", "1 234,5", "1.234,5").
function amountFormat() {
  const plain = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const sample = document.body.dataset.numberSample || "";
  if (sample.length !== 7) {
    return new Intl.NumberFormat(document.documentElement.lang || undefined, {
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
    });
  }
  const group = sample.charAt(1);
  const decimal = sample.charAt(5);
  return { format: (value) => plain.format(value).replace(/[,.]/g, (c) => (c === "," ? group : decimal)) };
}

function rowsOf(table) {
  return Array.from(table.querySelector("[data-rows]").children).filter((tr) => tr.hasAttribute("data-row"));
}

// Inputs are named <key>-<index>-<field>: after a move, add or removal the indices follow the order
// on screen, because the server keeps the rows in the order of their indices.
function renumber(table) {
  const key = table.dataset.childTable;
  const pattern = new RegExp(`^${key}-(\\d+|__prefix__)-`);
  const rows = rowsOf(table);
  rows.forEach((tr, index) => {
    tr.querySelectorAll("[name], [id], label[for]").forEach((element) => {
      for (const attribute of ["name", "id", "for"]) {
        const value = element.getAttribute(attribute) || "";
        const prefix = value.startsWith("id_") ? "id_" : ""; // Django's ids are "id_" + the name
        const rest = value.slice(prefix.length);
        if (pattern.test(rest)) {
          element.setAttribute(attribute, prefix + rest.replace(pattern, `${key}-${index}-`));
        }
      }
    });
    tr.querySelectorAll("[data-row-label]").forEach((span) => {
      span.textContent = (table.dataset.rowLabel || "").replace("__n__", String(index + 1));
    });
    const numberCell = tr.querySelector("[data-row-number]");
    if (numberCell) {
      numberCell.textContent = String(index + 1);
    }
    tr.querySelectorAll("[data-move]").forEach((button) => {
      button.type = "button"; // handled here, not by the server
    });
  });
  table.querySelector("[data-total-forms]").value = String(rows.length);
}

function recompute(table) {
  const fields = (table.dataset.rowAmount || "").split(" ").filter(Boolean);
  if (!fields.length) {
    return;
  }
  const format = amountFormat();
  let total = 0;
  rowsOf(table).forEach((tr) => {
    const removed = tr.querySelector("[data-remove]");
    let amount = 1;
    for (const field of fields) {
      const input = tr.querySelector(`[name$="-${field}"]`);
      amount *= number(input && input.value);
    }
    const output = tr.querySelector("[data-row-total]");
    if (output) {
      output.textContent = format.format(amount);
    }
    tr.classList.toggle("child-table__row--removed", Boolean(removed && removed.checked));
    if (!removed || !removed.checked) {
      total += amount;
    }
  });
  const shown = table.querySelector("[data-rows-total]");
  if (shown) {
    shown.textContent = format.format(total);
  }
}

function enhance(table) {
  const body = table.querySelector("[data-rows]");
  const blank = table.querySelector("template[data-blank-row]");
  renumber(table);
  recompute(table);
  table.addEventListener("input", () => recompute(table));
  table.addEventListener("change", () => recompute(table));
  table.addEventListener("click", (event) => {
    const add = event.target.closest("[data-add-row]");
    if (add && blank) {
      event.preventDefault();
      body.appendChild(blank.content.cloneNode(true));
      renumber(table);
      recompute(table);
      const rows = rowsOf(table);
      if (window.htmx) {
        window.htmx.process(rows[rows.length - 1]);
      }
      // forms.js turns the new row's record pickers and lists into searchable boxes
      rows[rows.length - 1].dispatchEvent(new CustomEvent("kestrel:content-added", { bubbles: true }));
      const first = rows[rows.length - 1].querySelector("input:not([type=hidden]), select, textarea");
      if (first) {
        first.focus();
      }
      return;
    }
    const move = event.target.closest("[data-move]");
    if (!move) {
      return;
    }
    event.preventDefault();
    const tr = move.closest("tr");
    // A row's error line (if any) stays after it; moving skips over such lines.
    const rows = rowsOf(table);
    const index = rows.indexOf(tr);
    const other = move.dataset.move === "up" ? rows[index - 1] : rows[index + 1];
    if (!other) {
      return;
    }
    if (move.dataset.move === "up") {
      body.insertBefore(tr, other);
    } else {
      body.insertBefore(other, tr);
    }
    renumber(table);
    recompute(table);
    move.focus(); // the keyboard stays on the button that was pressed
  });
}

onReady(() => {
  document.querySelectorAll("[data-child-table]").forEach(enhance);
});
