// The module layout editor (settings › module › layout): blocks and fields arranged by drag and drop or
// with buttons (the keyboard path), per-field mandatory / quick-create / hidden toggles, and a live
// preview of the form. The whole layout is posted as JSON to the layout service, which checks it and
// answers 400 with the reason (nothing saved) or 200. Without JavaScript the plain form below stays.

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  Object.entries(attrs).forEach(([name, value]) => {
    if (value === false || value == null) {
      return;
    }
    if (name === "text") {
      node.textContent = value;
    } else if (name.startsWith("on")) {
      node.addEventListener(name.slice(2), value);
    } else {
      node.setAttribute(name, value === true ? "" : value);
    }
  });
  children.forEach((child) => child && node.appendChild(child));
  return node;
}

function csrf() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

function setUpLayoutEditor(section) {
  const state = JSON.parse(document.getElementById("layout-editor-state").textContent);
  const t = state.text;
  const root = section.querySelector("[data-layout-editor-root]");
  const sets = {
    hidden: new Set(state.hidden),
    mandatory: new Set(state.mandatory),
    quick_create: new Set(state.quick_create),
  };
  let dirty = false;
  let counter = 0;
  let statusText = "";

  const info = (name) => state.fields[name];
  const blockOf = (name) => state.blocks.find((block) => block.fields.includes(name));

  const changed = (message, focusId) => {
    dirty = true;
    statusText = message || t.unsaved;
    render(focusId);
  };

  const moveField = (name, target, index) => {
    const from = blockOf(name);
    from.fields.splice(from.fields.indexOf(name), 1);
    const fields = target.fields;
    fields.splice(index == null || index > fields.length ? fields.length : index, 0, name);
  };

  const payload = () => ({
    blocks: state.blocks.map((block) => ({
      key: block.key,
      title: block.title === block.standard_title ? "" : block.title,
      fields: block.fields,
    })),
    hidden: Array.from(sets.hidden),
    mandatory: Array.from(sets.mandatory),
    quick_create: Array.from(sets.quick_create),
  });

  const save = async () => {
    statusText = t.saving;
    render("layout-save");
    const response = await fetch(state.save_url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(payload()),
    });
    const answer = await response.json().catch(() => ({}));
    if (response.ok) {
      dirty = false;
      statusText = answer.message;
    } else {
      statusText = Object.values(answer.errors || {}).flat().join(" ");
    }
    render("layout-save");
  };

  const toggle = (setName, name) => (event) => {
    if (event.target.checked) {
      sets[setName].add(name);
    } else {
      sets[setName].delete(name);
    }
    changed(null, event.target.id);
  };

  const fieldRow = (block, name, index) => {
    const f = info(name);
    const fixed = f.required || f.readonly;
    const id = `le-${name}`;
    const moveTo = el(
      "select",
      {
        id: `${id}-to`,
        "aria-label": `${t.move_to}: ${f.label}`,
        onchange: (event) => {
          const target = state.blocks.find((b) => b.key === event.target.value);
          moveField(name, target);
          changed(t.moved.replace("%(field)s", f.label).replace("%(block)s", target.title), `${id}-to`);
        },
      },
      state.blocks.map((b) => el("option", { value: b.key, selected: b === block, text: b.title })),
    );
    const check = (setName, label, disabled) =>
      el("label", {}, [
        el("input", {
          type: "checkbox",
          id: `${id}-${setName}`,
          checked: sets[setName].has(name),
          disabled,
          onchange: toggle(setName, name),
        }),
        el("span", { text: label }),
        el("span", { class: "visually-hidden", text: ` ${f.label}` }),
      ]);
    return el(
      "li",
      { class: "layout-field", draggable: "true", "data-field": name },
      [
        el("span", { class: "layout-field__name", text: f.label }),
        f.required ? el("span", { class: "badge", text: t.required }) : null,
        f.readonly ? el("span", { class: "badge", text: t.read_only }) : null,
        f.custom ? el("span", { class: "badge", text: t.custom_field }) : null,
        el("button", {
          type: "button",
          class: "button button--small button--ghost",
          id: `${id}-up`,
          disabled: index === 0,
          "aria-label": `${t.move_up}: ${f.label}`,
          text: "↑",
          onclick: () => {
            moveField(name, block, index - 1);
            changed(null, index - 1 === 0 ? `${id}-down` : `${id}-up`);
          },
        }),
        el("button", {
          type: "button",
          class: "button button--small button--ghost",
          id: `${id}-down`,
          disabled: index === block.fields.length - 1,
          "aria-label": `${t.move_down}: ${f.label}`,
          text: "↓",
          onclick: () => {
            moveField(name, block, index + 1);
            changed(null, index + 1 === block.fields.length - 1 ? `${id}-up` : `${id}-down`);
          },
        }),
        moveTo,
        check("mandatory", t.mandatory, fixed || f.checkbox || sets.hidden.has(name)),
        check("quick_create", t.quick_create, f.readonly),
        check("hidden", t.hidden, fixed || f.always_shown || sets.mandatory.has(name)),
      ],
    );
  };

  const blockSection = (block, index) => {
    const list = el(
      "ul",
      { class: "layout-fields", "data-block-fields": block.key, "aria-label": block.title },
      block.fields.map((name, i) => fieldRow(block, name, i)),
    );
    if (!block.fields.length) {
      list.appendChild(el("li", { class: "muted", text: t.empty }));
    }
    list.addEventListener("dragover", (event) => {
      event.preventDefault();
      list.classList.add("is-over");
    });
    list.addEventListener("dragleave", () => list.classList.remove("is-over"));
    list.addEventListener("drop", (event) => {
      event.preventDefault();
      const name = event.dataTransfer.getData("text/plain");
      if (!state.fields[name]) {
        return;
      }
      const rows = Array.from(list.querySelectorAll("[data-field]")).filter((row) => row.dataset.field !== name);
      const before = rows.find((row) => {
        const box = row.getBoundingClientRect();
        return event.clientY < box.top + box.height / 2;
      });
      moveField(name, block, null);
      block.fields.splice(block.fields.indexOf(name), 1);
      const at = before ? block.fields.indexOf(before.dataset.field) : block.fields.length;
      block.fields.splice(at, 0, name);
      changed(t.moved.replace("%(field)s", info(name).label).replace("%(block)s", block.title));
    });
    return el("section", { class: "layout-block", "data-block": block.key }, [
      el("div", { class: "layout-block__head" }, [
        el("input", {
          type: "text",
          id: `lb-${block.key}-title`,
          value: block.title,
          maxlength: "100",
          "aria-label": `${t.block_title}: ${block.title}`,
          onchange: (event) => {
            block.title = event.target.value.trim() || block.standard_title || block.title;
            changed(null, event.target.id);
          },
        }),
        el("button", {
          type: "button",
          class: "button button--small button--ghost",
          id: `lb-${block.key}-up`,
          disabled: index === 0,
          "aria-label": `${t.move_up}: ${block.title}`,
          text: "↑",
          onclick: () => {
            state.blocks.splice(index, 1);
            state.blocks.splice(index - 1, 0, block);
            changed(null, `lb-${block.key}-up`);
          },
        }),
        el("button", {
          type: "button",
          class: "button button--small button--ghost",
          id: `lb-${block.key}-down`,
          disabled: index === state.blocks.length - 1,
          "aria-label": `${t.move_down}: ${block.title}`,
          text: "↓",
          onclick: () => {
            state.blocks.splice(index, 1);
            state.blocks.splice(index + 1, 0, block);
            changed(null, `lb-${block.key}-down`);
          },
        }),
        el("button", {
          type: "button",
          class: "button button--small button--ghost",
          disabled: block.fields.length > 0 || state.blocks.length === 1,
          title: block.fields.length ? t.remove_hint : null,
          text: `${t.remove_block}: ${block.title}`,
          onclick: () => {
            state.blocks.splice(index, 1);
            changed(null, "layout-add-block");
          },
        }),
      ]),
      list,
    ]);
  };

  const previewControl = (name) => {
    const f = info(name);
    const required = f.required || sets.mandatory.has(name);
    const label = el("label", {}, [
      el("span", { text: f.label }),
      required ? el("span", { class: "form-field__marker", "aria-hidden": "true", text: " *" }) : null,
    ]);
    let control;
    if (f.kind === "select") {
      control = el("select", { disabled: true, tabindex: "-1" }, [el("option", { text: "—" })]);
    } else if (f.kind === "textarea") {
      control = el("textarea", { rows: "2", disabled: true, tabindex: "-1" });
    } else {
      control = el("input", { type: f.kind === "checkbox" ? "checkbox" : f.kind, disabled: true, tabindex: "-1" });
    }
    return el("div", { class: "form-field", "data-preview-field": name }, [label, control]);
  };

  const preview = () =>
    el("aside", { class: "layout-preview card", "aria-label": t.preview }, [
      el("h2", { text: t.preview }),
      el(
        "div",
        { class: "form", "aria-hidden": "true" },
        state.blocks
          .map((block) => {
            const shown = block.fields.filter((name) => !sets.hidden.has(name) && !info(name).readonly);
            if (!shown.length) {
              return null;
            }
            return el("fieldset", { "data-preview-block": block.key }, [
              el("legend", { text: block.title }),
              el("div", { class: "form-grid" }, shown.map(previewControl)),
            ]);
          })
          .filter(Boolean),
      ),
    ]);

  function render(focusId) {
    const active = focusId || (document.activeElement && document.activeElement.id);
    root.innerHTML = "";
    const editor = el("div", {}, [
      el("div", { class: "form__actions" }, [
        el("button", {
          type: "button",
          class: "button button--ghost",
          id: "layout-add-block",
          text: t.add_block,
          onclick: () => {
            counter += 1;
            let key = `block-${counter}`;
            while (state.blocks.some((b) => b.key === key)) {
              counter += 1;
              key = `block-${counter}`;
            }
            state.blocks.push({ key, title: `${t.new_block} ${counter}`, standard_title: "", fields: [] });
            changed(null, `lb-${key}-title`);
          },
        }),
        el("button", { type: "button", class: "button", id: "layout-save", text: t.save, onclick: save }),
      ]),
      el("p", { class: "muted", role: "status", "data-layout-status": true, text: statusText }),
      ...state.blocks.map(blockSection),
    ]);
    root.appendChild(el("div", { class: "layout-editor" }, [editor, preview()]));
    if (active) {
      const target = document.getElementById(active);
      if (target) {
        target.focus();
      }
    }
  }

  root.addEventListener("dragstart", (event) => {
    const row = event.target.closest && event.target.closest("[data-field]");
    if (row) {
      event.dataTransfer.setData("text/plain", row.dataset.field);
      event.dataTransfer.effectAllowed = "move";
      row.classList.add("is-dragging");
    }
  });
  window.addEventListener("beforeunload", (event) => {
    if (dirty) {
      event.preventDefault();
      event.returnValue = t.unsaved;
    }
  });

  render(null);
  section.hidden = false;
  const fallback = document.querySelector("[data-layout-fallback]");
  if (fallback) {
    fallback.hidden = true;
  }
}

function onReady(fn) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fn);
  } else {
    fn();
  }
}

onReady(() => {
  const section = document.querySelector("[data-layout-editor]");
  if (section && document.getElementById("layout-editor-state")) {
    setUpLayoutEditor(section);
  }
});
