// Access settings: drag a role onto another role to re-parent it. Every role also has a
// "Move under…" select and button (the keyboard and phone path), so this is an enhancement only.

function onReady(fn) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fn);
  } else {
    fn();
  }
}

function csrfFrom(tree) {
  const input = tree.querySelector("input[name=csrfmiddlewaretoken]");
  if (input) {
    return input.value;
  }
  try {
    return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  } catch (_error) {
    return "";
  }
}

// After the tree is redrawn, keyboard focus goes to the role that moved (its name is focusable).
function focusMoved(tree) {
  const list = tree.querySelector("[data-moved]");
  const name = list ? document.getElementById(`role-name-${list.dataset.moved}`) : null;
  if (name) {
    name.focus({ preventScroll: false });
  }
}

function setUpRoleTree(tree) {
  tree.classList.add("is-enhanced");
  const hint = document.querySelector("[data-role-drag-hint]");
  if (hint) {
    hint.hidden = false;
  }
  let dragged = null;

  // The row under the pointer, if the dragged role may move there (never onto itself or below itself).
  const targetRow = (event) => {
    if (!dragged || !event.target.closest) {
      return null;
    }
    const row = event.target.closest("[data-role-target]");
    if (!row || !tree.contains(row)) {
      return null;
    }
    return dragged.contains(row) ? null : row;
  };
  const clearHighlight = () => {
    tree.querySelectorAll(".role-tree__row--over").forEach((row) => row.classList.remove("role-tree__row--over"));
  };

  tree.addEventListener("dragstart", (event) => {
    const handle = event.target.closest && event.target.closest("[data-role-handle]");
    if (!handle) {
      return;
    }
    dragged = handle.closest("[data-role]");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.role);
    const row = handle.closest("[data-role-target]");
    if (row && event.dataTransfer.setDragImage) {
      event.dataTransfer.setDragImage(row, 12, 12);
    }
    dragged.classList.add("role-tree__item--dragging");
  });
  tree.addEventListener("dragover", (event) => {
    const row = targetRow(event);
    if (row) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      if (!row.classList.contains("role-tree__row--over")) {
        clearHighlight();
        row.classList.add("role-tree__row--over");
      }
    }
  });
  tree.addEventListener("dragleave", (event) => {
    const row = event.target.closest && event.target.closest("[data-role-target]");
    if (row && !row.contains(event.relatedTarget)) {
      row.classList.remove("role-tree__row--over");
    }
  });
  tree.addEventListener("dragend", () => {
    if (dragged) {
      dragged.classList.remove("role-tree__item--dragging");
    }
    dragged = null;
    clearHighlight();
  });
  tree.addEventListener("drop", async (event) => {
    const row = targetRow(event);
    if (!row) {
      return;
    }
    event.preventDefault();
    const url = dragged.dataset.moveUrl;
    const parent = row.dataset.roleTarget;
    clearHighlight();
    const response = await fetch(url, {
      method: "POST",
      body: new URLSearchParams({ parent }),
      headers: { "X-CSRFToken": csrfFrom(tree), "HX-Request": "true" },
      credentials: "same-origin",
    });
    const redirect = response.headers.get("HX-Redirect");
    if (redirect) {
      window.location.assign(redirect);
      return;
    }
    if (response.ok) {
      tree.innerHTML = await response.text();
      if (window.htmx) {
        window.htmx.process(tree);
      }
      focusMoved(tree);
    } else {
      window.location.reload();
    }
  });
  // The "Move" buttons swap the tree through htmx.
  tree.addEventListener("htmx:afterSwap", () => focusMoved(tree));
}

onReady(() => {
  document.querySelectorAll("[data-role-tree]").forEach(setUpRoleTree);
});
