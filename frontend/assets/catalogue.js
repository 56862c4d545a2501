// Inventory and sales settings: the pipeline editor's drag-and-drop reordering of stages, and the products
// list's "Add to price book" button carrying the list's current filters.
function onReady(fn) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
  else fn();
}

function csrfToken(scope) {
  const input = scope.querySelector("input[name=csrfmiddlewaretoken]") || document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

function saveOrder(list) {
  const order = [...list.querySelectorAll("[data-stage]")].map((li) => li.dataset.stage);
  const body = new URLSearchParams({ action: "stages_reorder", pipeline: list.dataset.pipeline, order: order.join(",") });
  list.setAttribute("aria-busy", "true");
  return fetch(list.dataset.reorderUrl, {
    method: "POST",
    headers: { "X-CSRFToken": csrfToken(list), Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
    body,
    credentials: "same-origin",
  }).then((response) => {
    list.removeAttribute("aria-busy");
    if (!response.ok) window.location.reload();
    refreshButtons(list);
  });
}

function refreshButtons(list) {
  const items = [...list.querySelectorAll("[data-stage]")];
  items.forEach((li, index) => {
    const up = li.querySelector("[data-move=up]");
    const down = li.querySelector("[data-move=down]");
    if (up) up.disabled = index === 0;
    if (down) down.disabled = index === items.length - 1;
  });
}

function enhanceStageList(list) {
  let dragged = null;
  list.addEventListener("dragstart", (event) => {
    dragged = event.target.closest("[data-stage]");
    if (!dragged) return;
    dragged.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
  });
  list.addEventListener("dragover", (event) => {
    if (!dragged) return;
    event.preventDefault();
    const over = event.target.closest("[data-stage]");
    if (!over || over === dragged) return;
    const rect = over.getBoundingClientRect();
    const after = event.clientY > rect.top + rect.height / 2;
    over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
  });
  list.addEventListener("dragend", () => {
    if (!dragged) return;
    dragged.classList.remove("is-dragging");
    dragged = null;
    saveOrder(list);
  });
  // Up/Down without a page load when scripts run (the buttons post the same change without them).
  list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-move]");
    if (!button) return;
    event.preventDefault();
    const item = button.closest("[data-stage]");
    const sibling = button.dataset.move === "up" ? item.previousElementSibling : item.nextElementSibling;
    if (!sibling) return;
    if (button.dataset.move === "up") list.insertBefore(item, sibling);
    else list.insertBefore(sibling, item);
    saveOrder(list).then(() => item.querySelector(`[data-move=${button.dataset.move}]:not(:disabled)`)?.focus() || item.querySelector("input")?.focus());
  });
}

onReady(() => {
  document.querySelectorAll("[data-stage-list]").forEach(enhanceStageList);
  // The list action links without the list's query string: carry the current filters and search along.
  document.querySelectorAll('a[href$="/m/products/add-to-price-book/"]').forEach((link) => {
    if (window.location.pathname.endsWith("/m/products/") && window.location.search) {
      link.href = link.getAttribute("href") + window.location.search;
    }
  });
});
