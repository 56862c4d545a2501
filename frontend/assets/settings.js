// Behaviour of the CRM settings screens (layout editor, picklist editor, custom field form).
// Every screen works without this file: these are enhancements only.

function onReady(fn) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fn);
  } else {
    fn();
  }
}

const FOCUS_KEY = "crm-settings-focus";

// Up/down buttons reload the page: put keyboard focus back on the button that was pressed
// (or on its other arrow when that one is now disabled).
function keepFocusAcrossReloads() {
  document.addEventListener("submit", (event) => {
    const button = event.submitter;
    if (button && button.id && button.closest("[data-keep-focus]")) {
      try {
        sessionStorage.setItem(FOCUS_KEY, button.id);
      } catch (_error) {
        // Storage may be unavailable (private mode): focus simply is not restored.
      }
    }
  });
  let id = null;
  try {
    id = sessionStorage.getItem(FOCUS_KEY);
    sessionStorage.removeItem(FOCUS_KEY);
  } catch (_error) {
    return;
  }
  if (!id) {
    return;
  }
  // An item moved to the top or bottom has that arrow disabled: the other arrow takes the focus.
  const other = id.endsWith("-up") ? `${id.slice(0, -3)}-down` : id.endsWith("-down") ? `${id.slice(0, -5)}-up` : "";
  const restore = () => {
    for (const candidate of [id, other]) {
      const button = candidate ? document.getElementById(candidate) : null;
      if (button && !button.disabled) {
        button.focus({ preventScroll: true });
        return;
      }
    }
    // Otherwise the page's #fragment (the moved item) is where sequential focus navigation starts.
  };
  // Scrolling to the #fragment blurs the page once it has loaded, so focus after that.
  if (document.readyState === "complete") {
    setTimeout(restore, 0);
  } else {
    window.addEventListener("load", () => setTimeout(restore, 0), { once: true });
  }
}

// The direct child of `container` that contains `element`, if it is a sortable item.
function ownItem(container, element) {
  let node = element;
  while (node && node.parentElement !== container) {
    node = node.parentElement;
  }
  return node && node.matches("[data-sortable-item]") ? node : null;
}

// Drag-and-drop reordering of the children of one container. The order of the hidden inputs in the
// DOM is the order the server receives, so moving the elements is all there is to do.
function makeSortable(container, onChange) {
  let dragged = null;
  container.querySelectorAll(":scope > [data-sortable-item]").forEach((item) => {
    item.setAttribute("draggable", "true");
  });
  container.addEventListener("dragstart", (event) => {
    const item = ownItem(container, event.target);
    if (!item || event.target !== item) {
      return;
    }
    event.stopPropagation();
    dragged = item;
    item.style.opacity = "0.5";
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.id || "");
  });
  container.addEventListener("dragover", (event) => {
    if (!dragged) {
      return;
    }
    const over = ownItem(container, event.target);
    event.preventDefault();
    event.stopPropagation();
    if (!over || over === dragged) {
      return;
    }
    const box = over.getBoundingClientRect();
    const after = event.clientY > box.top + box.height / 2;
    container.insertBefore(dragged, after ? over.nextSibling : over);
  });
  container.addEventListener("drop", (event) => {
    if (dragged) {
      event.preventDefault();
      event.stopPropagation();
    }
  });
  container.addEventListener("dragend", () => {
    if (!dragged) {
      return;
    }
    dragged.style.opacity = "";
    dragged = null;
    onChange();
  });
}

// After a drag, the up/down buttons of the first and last items must match the new order.
function refreshArrows(container) {
  const items = Array.from(container.querySelectorAll(":scope > [data-sortable-item]"));
  items.forEach((item, index) => {
    const own = (selector) =>
      Array.from(item.querySelectorAll(selector)).filter(
        (button) => button.closest("[data-sortable-item]") === item,
      );
    own("button[name=move][value$=':up']").forEach((b) => {
      b.disabled = index === 0;
    });
    own("button[name=move][value$=':down']").forEach((b) => {
      b.disabled = index === items.length - 1;
    });
  });
}

function layoutEditor(form) {
  const status = document.querySelector("[data-sortable-status]");
  const hint = document.querySelector("[data-sortable-hint]");
  if (hint) {
    hint.hidden = false;
  }
  form.querySelectorAll("[data-sortable]").forEach((container) => {
    makeSortable(container, () => {
      refreshArrows(container);
      if (status) {
        status.textContent = form.dataset.dirtyMessage || "";
      }
    });
  });
}

// The add-a-field form shows "choices" only for picklists and "points to" only for references.
function customFieldForm(form) {
  const type = form.querySelector("select[name=type]");
  if (!type) {
    return;
  }
  const update = () => {
    form.querySelectorAll("[data-show-for]").forEach((wrapper) => {
      const kinds = wrapper.dataset.showFor.split(" ");
      wrapper.hidden = !kinds.includes(type.value) && !wrapper.querySelector(".errorlist");
    });
  };
  type.addEventListener("change", update);
  update();
}

onReady(() => {
  keepFocusAcrossReloads();
  document.querySelectorAll("form[data-layout-form]").forEach(layoutEditor);
  document.querySelectorAll("form[data-custom-field-form]").forEach(customFieldForm);
});
