// Engine forms: searchable selects and reference pickers (Tom Select), quick create from a picker,
// autosaved drafts, focus on the first error. The markup contract is in crm_apps/engine/README.md:
//   <select data-ui="select">                       searchable single choice
//   <select multiple data-ui="multiselect">         searchable multiple choice (no Ctrl-click)
//   <select data-ui="reference" data-ui-url="…"     records found through a JSON search endpoint
//           data-ui-create-url="…">                 ("create new" opens that quick-create form)
import TomSelect from "tom-select";
import "./mentions.js";
import "./layout_editor.js";

const ARIA = ["aria-describedby", "aria-invalid", "aria-required"];

function csrfToken(form) {
  const input = form && form.querySelector("input[name=csrfmiddlewaretoken]");
  if (input) {
    return input.value;
  }
  try {
    return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  } catch (error) {
    return "";
  }
}

function escapeHtml(text) {
  const div = document.createElement("div");
  div.textContent = text == null ? "" : String(text);
  return div.innerHTML;
}

// The hidden native select keeps the ARIA state Django gave it; the visible input must carry it.
function copyAria(select, ts) {
  ARIA.forEach((name) => {
    const value = select.getAttribute(name);
    if (value) {
      ts.control_input.setAttribute(name, value);
    }
  });
}

// One accessible name, on one element: Tom Select points the <label> at its combobox (label[for] = the
// control's id) and labels its listbox with the same label. The native select it hides then has no
// name (axe: select-name) and two elements answer to the label. The native select is only the form's
// value carrier (tabindex -1, visually hidden): hide it from assistive technology too. The listbox keeps
// the label only while it is open (when closed it is display: none and needs no name).
function nameOnce(select, ts) {
  select.setAttribute("aria-hidden", "true");
  const listbox = ts.dropdown_content;
  const labelledBy = listbox.getAttribute("aria-labelledby");
  if (!labelledBy) {
    return;
  }
  listbox.removeAttribute("aria-labelledby");
  ts.on("dropdown_open", () => listbox.setAttribute("aria-labelledby", labelledBy));
  ts.on("dropdown_close", () => listbox.removeAttribute("aria-labelledby"));
}

function renderRecord(item, escape) {
  const secondary = item.secondary ? `<small class="ts-secondary">${escape(item.secondary)}</small>` : "";
  return `<div class="ts-record"><span>${escape(item.text)}</span>${secondary}</div>`;
}

// An optional single choice gets a clear button; the empty option becomes the placeholder.
function plugins(select, multiple) {
  if (multiple) {
    return ["remove_button"];
  }
  return select.required || select.getAttribute("aria-required") === "true" ? [] : ["clear_button"];
}

function placeholderOf(select) {
  const empty = select.querySelector('option[value=""]');
  return select.dataset.uiPlaceholder || (empty ? empty.textContent.trim() : "");
}

function enhanceSelect(select) {
  const multiple = select.dataset.ui === "multiselect";
  const ts = new TomSelect(select, {
    allowEmptyOption: false,
    maxOptions: 1000,
    plugins: plugins(select, multiple),
    placeholder: placeholderOf(select),
  });
  copyAria(select, ts);
  nameOnce(select, ts);
}

function enhanceReference(select) {
  const createUrl = select.dataset.uiCreateUrl;
  const insideQuickCreate = select.closest("[data-quick-create]");
  const options = {
    valueField: "value",
    labelField: "text",
    searchField: ["text", "secondary"],
    allowEmptyOption: false,
    plugins: plugins(select, false),
    preload: "focus",
    loadThrottle: 250,
    placeholder: placeholderOf(select),
    load(query, callback) {
      const url = `${select.dataset.uiUrl}?q=${encodeURIComponent(query)}`;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : { results: [] }))
        .then((data) => callback(data.results))
        .catch(() => callback());
    },
    shouldLoad: () => true,
    render: {
      option: renderRecord,
      item: (item, escape) => `<div>${escape(item.text)}</div>`,
      option_create: (data, escape) =>
        `<div class="create">${escape(select.dataset.uiCreateLabel || "+")} <strong>${escape(data.input)}</strong>…</div>`,
    },
  };
  if (createUrl && !insideQuickCreate) {
    options.create = (input, callback) => openQuickCreate(createUrl, input, callback);
  }
  const ts = new TomSelect(select, options);
  copyAria(select, ts);
  nameOnce(select, ts);
}

export function enhance(root) {
  root.querySelectorAll("select[data-ui]").forEach((select) => {
    if (select.tomselect) {
      return;
    }
    if (select.dataset.ui === "reference") {
      enhanceReference(select);
    } else if (select.dataset.ui === "select" || select.dataset.ui === "multiselect") {
      enhanceSelect(select);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Quick create: the module's short form in a modal dialog; the new record becomes the picker's value.

function openQuickCreate(url, input, callback) {
  const dialog = document.createElement("dialog");
  dialog.className = "modal quick-create-dialog";
  dialog.setAttribute("aria-labelledby", "quick-create-title");
  document.body.appendChild(dialog);
  let done = false;
  const finish = (item) => {
    if (done) {
      return;
    }
    done = true;
    callback(item);
    dialog.close();
    dialog.remove();
  };
  dialog.addEventListener("cancel", () => finish(undefined));
  const show = (html) => {
    dialog.innerHTML = html;
    enhance(dialog);
    const form = dialog.querySelector("form");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(form), Accept: "application/json" },
      });
      if (response.status === 201) {
        finish(await response.json());
      } else {
        show(await response.text());
        focusFirstError(dialog);
      }
    });
    dialog.querySelector("[data-quick-create-cancel]").addEventListener("click", () => finish(undefined));
  };
  fetch(url, { credentials: "same-origin" })
    .then((response) => response.text())
    .then((html) => {
      show(html);
      dialog.showModal();
      const first = dialog.querySelector("input:not([type=hidden]), textarea");
      if (first && input && first.type === "text") {
        first.value = input;
      }
      if (first) {
        first.focus();
      }
    })
    .catch(() => finish(undefined));
}

// ---------------------------------------------------------------------------------------------
// Drafts: what someone typed in a record form is kept in this browser (localStorage, per tenant,
// member, module and record) until the form is saved; coming back offers to restore it.

const PENDING = "crm-draft-pending";

function draftValues(form) {
  const values = {};
  new FormData(form).forEach((value, name) => {
    if (name === "csrfmiddlewaretoken" || name === "version" || typeof value !== "string") {
      return;
    }
    (values[name] = values[name] || []).push(value);
  });
  return values;
}

// The titles of the chosen records, so a restored picker shows names rather than ids.
function draftLabels(form) {
  const labels = {};
  form.querySelectorAll("select[data-ui]").forEach((select) => {
    if (select.tomselect) {
      select.tomselect.items.forEach((value) => {
        const option = select.tomselect.options[value];
        if (option) {
          labels[value] = option[select.tomselect.settings.labelField];
        }
      });
    }
  });
  return labels;
}

function draftApply(form, values, labels) {
  Object.entries(values).forEach(([name, list]) => {
    const fields = form.querySelectorAll(`[name="${CSS.escape(name)}"]`);
    fields.forEach((field) => {
      if (field.type === "checkbox" || field.type === "radio") {
        field.checked = list.includes(field.value);
      } else if (field.tomselect) {
        const ts = field.tomselect;
        list.forEach((value) => {
          if (value && !ts.options[value]) {
            ts.addOption({ [ts.settings.valueField]: value, [ts.settings.labelField]: labels[value] || value });
          }
        });
        ts.setValue(field.multiple ? list : list[0] || "", true);
      } else if (field.tagName === "SELECT" && field.multiple) {
        Array.from(field.options).forEach((option) => {
          option.selected = list.includes(option.value);
        });
      } else {
        field.value = list[0] || "";
      }
    });
  });
}

function setUpDraft(form) {
  const key = form.dataset.draftKey;
  if (!key || !window.localStorage) {
    return;
  }
  const stored = localStorage.getItem(key);
  const hasErrors = form.querySelector("[aria-invalid='true'], .errorlist");
  const prompt = form.querySelector("[data-draft-prompt]");
  if (stored && !hasErrors && prompt) {
    prompt.hidden = false;
    prompt.querySelector("[data-draft-restore]").addEventListener("click", () => {
      try {
        const draft = JSON.parse(stored);
        draftApply(form, draft.values || {}, draft.labels || {});
      } catch (error) {
        localStorage.removeItem(key);
      }
      prompt.hidden = true;
    });
    prompt.querySelector("[data-draft-discard]").addEventListener("click", () => {
      localStorage.removeItem(key);
      prompt.hidden = true;
    });
  }
  let timer = null;
  const save = () => {
    localStorage.setItem(key, JSON.stringify({ saved: Date.now(), values: draftValues(form), labels: draftLabels(form) }));
  };
  ["input", "change"].forEach((type) =>
    form.addEventListener(type, () => {
      clearTimeout(timer);
      timer = setTimeout(save, 400);
    }),
  );
  form.addEventListener("submit", () => {
    clearTimeout(timer);
    save();
    // Cleared on the next page unless that page is this form again (the server refused the save).
    sessionStorage.setItem(PENDING, key);
  });
}

function settlePendingDraft() {
  const pending = sessionStorage.getItem(PENDING);
  if (!pending) {
    return;
  }
  sessionStorage.removeItem(PENDING);
  const again = Array.from(document.querySelectorAll("form[data-draft-key]")).some(
    (form) => form.dataset.draftKey === pending,
  );
  if (!again) {
    localStorage.removeItem(pending);
  }
}

// After a failed submit, focus the first field with an error (its visible control when enhanced).
function focusFirstError(root) {
  const invalid = root.querySelector("[aria-invalid='true']");
  if (!invalid) {
    return;
  }
  const target = invalid.tomselect ? invalid.tomselect.control_input : invalid;
  target.focus();
}

function onReady(fn) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fn);
  } else {
    fn();
  }
}

onReady(() => {
  settlePendingDraft();
  enhance(document);
  document.querySelectorAll("form[data-draft-key]").forEach(setUpDraft);
  document.body.addEventListener("htmx:afterSwap", (event) => enhance(event.target));
  // Content another script adds (a new row of a line-items table) gets the same pickers.
  document.body.addEventListener("kestrel:content-added", (event) => enhance(event.target));
  setTimeout(() => focusFirstError(document), 0);
});
