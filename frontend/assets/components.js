// Behaviour of the component library (frontend/templates/components/): dropdown menus, tabs, toasts,
// modals, confirmations and the filterable checkbox list. Each enhances markup that works without it.

function onReady(fn) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fn);
  } else {
    fn();
  }
}

// Dropdown menus (disclosure pattern): the button toggles the panel; arrows move between its items;
// Escape closes and returns focus to the button; a click outside or Tab out of it closes it.
function closeDropdown(dropdown, focusToggle) {
  const toggle = dropdown.querySelector("[data-dropdown-toggle]");
  const menu = dropdown.querySelector("[data-dropdown-menu]");
  if (!menu || menu.hidden) {
    return;
  }
  menu.hidden = true;
  toggle.setAttribute("aria-expanded", "false");
  if (focusToggle) {
    toggle.focus();
  }
}

function menuItems(menu) {
  return Array.from(menu.querySelectorAll("a[href], button:not([disabled]), select, input:not([type=hidden])")).filter(
    (el) => el.offsetParent !== null,
  );
}

export function setUpDropdowns(root = document) {
  root.querySelectorAll("[data-dropdown]").forEach((dropdown) => {
    if (dropdown.dataset.ready) {
      return;
    }
    dropdown.dataset.ready = "1";
    const toggle = dropdown.querySelector("[data-dropdown-toggle]");
    const menu = dropdown.querySelector("[data-dropdown-menu]");
    toggle.addEventListener("click", () => {
      const open = menu.hidden;
      document.querySelectorAll("[data-dropdown]").forEach((other) => other !== dropdown && closeDropdown(other, false));
      menu.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      if (open) {
        const first = menuItems(menu).find((el) => el.getAttribute("aria-pressed") !== "false") || menuItems(menu)[0];
        if (first) {
          first.focus();
        }
      }
    });
    dropdown.addEventListener("keydown", (event) => {
      if (menu.hidden) {
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        closeDropdown(dropdown, true);
        return;
      }
      if (["ArrowDown", "ArrowUp", "Home", "End"].includes(event.key) && event.target.tagName !== "SELECT") {
        const items = menuItems(menu);
        const index = items.indexOf(document.activeElement);
        let next = 0;
        if (event.key === "ArrowDown") next = (index + 1) % items.length;
        if (event.key === "ArrowUp") next = (index - 1 + items.length) % items.length;
        if (event.key === "End") next = items.length - 1;
        event.preventDefault();
        items[next].focus();
      }
    });
    dropdown.addEventListener("focusout", (event) => {
      if (event.relatedTarget && !dropdown.contains(event.relatedTarget)) {
        closeDropdown(dropdown, false);
      }
    });
  });
}

document.addEventListener("click", (event) => {
  document.querySelectorAll("[data-dropdown]").forEach((dropdown) => {
    if (!dropdown.contains(event.target)) {
      closeDropdown(dropdown, false);
    }
  });
});

// Tabs (ARIA tabs): click or arrow keys select a tab and show its panel.
export function setUpTabs(root = document) {
  root.querySelectorAll("[data-tabs]").forEach((tabs) => {
    const list = tabs.querySelector("[role=tablist]");
    const all = () => Array.from(list.querySelectorAll("[role=tab]"));
    const select = (tab) => {
      all().forEach((other) => {
        const selected = other === tab;
        other.setAttribute("aria-selected", String(selected));
        other.tabIndex = selected ? 0 : -1;
        document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
      });
      tab.focus();
    };
    list.addEventListener("click", (event) => {
      const tab = event.target.closest("[role=tab]");
      if (tab) {
        select(tab);
      }
    });
    list.addEventListener("keydown", (event) => {
      const tabs_ = all();
      const index = tabs_.indexOf(document.activeElement);
      const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs_.length - 1 };
      if (index >= 0 && event.key in moves) {
        event.preventDefault();
        select(tabs_[(moves[event.key] + tabs_.length) % tabs_.length]);
      }
    });
  });
}

// Toasts: successes and notes leave after a few seconds (not while hovered or focused); errors stay.
function dismiss(toast) {
  toast.classList.add("toast--leaving");
  setTimeout(() => toast.remove(), 200);
}

function armToast(toast) {
  const close = toast.querySelector("[data-toast-close]");
  if (close) {
    close.addEventListener("click", () => dismiss(toast));
  }
  if (!toast.classList.contains("toast--error")) {
    let timer = setTimeout(() => dismiss(toast), 6000);
    const pause = () => clearTimeout(timer);
    const resume = () => {
      timer = setTimeout(() => dismiss(toast), 3000);
    };
    toast.addEventListener("mouseenter", pause);
    toast.addEventListener("mouseleave", resume);
    toast.addEventListener("focusin", pause);
    toast.addEventListener("focusout", resume);
  }
}

export function showToast(text, level = "info") {
  const region = document.querySelector("[data-toasts]");
  if (!region) {
    return;
  }
  const icons = document.body.dataset.icons || "";
  const toast = document.createElement("div");
  toast.className = `toast toast--${level}`;
  toast.dataset.toast = "";
  const symbol = { success: "check", error: "circle-alert", warning: "triangle-alert" }[level] || "info";
  toast.innerHTML = `<svg class="icon" width="18" height="18" aria-hidden="true"><use href="${icons}#${symbol}"></use></svg><p class="toast__text"></p><button type="button" class="icon-button icon-button--small toast__close" data-toast-close><svg class="icon" width="14" height="14" aria-hidden="true"><use href="${icons}#x"></use></svg><span class="visually-hidden"></span></button>`;
  toast.querySelector(".toast__text").textContent = text;
  toast.querySelector(".visually-hidden").textContent = region.dataset.dismissLabel || "";
  region.appendChild(toast);
  armToast(toast);
}
window.crmToast = showToast;

// Modals: a button with data-modal-open="<id>" opens the <dialog>; data-modal-close closes it.
function setUpModals() {
  document.addEventListener("click", (event) => {
    const opener = event.target.closest && event.target.closest("[data-modal-open]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.modalOpen);
      if (dialog && dialog.showModal) {
        dialog.showModal();
      }
      return;
    }
    const closer = event.target.closest && event.target.closest("[data-modal-close]");
    if (closer) {
      closer.closest("dialog").close();
    }
  });
}

// Confirmations: data-confirm on a submit button or link asks first, in the confirmation dialog.
function setUpConfirm() {
  const dialog = document.querySelector("[data-confirm-dialog]");
  if (!dialog || !dialog.showModal) {
    return;
  }
  const ok = dialog.querySelector("[data-confirm-ok]");
  const defaultLabel = ok.textContent;
  document.addEventListener(
    "click",
    (event) => {
      const trigger = event.target.closest && event.target.closest("[data-confirm]");
      if (!trigger || trigger.dataset.confirmed) {
        return;
      }
      event.preventDefault();
      event.stopPropagation();
      dialog.querySelector("[data-confirm-text]").textContent = trigger.dataset.confirm;
      ok.textContent = trigger.dataset.confirmLabel || defaultLabel;
      ok.classList.toggle("button--danger", trigger.hasAttribute("data-confirm-danger"));
      dialog.returnValue = "";
      dialog.showModal();
      dialog.addEventListener(
        "close",
        () => {
          trigger.focus();
          if (dialog.returnValue !== "ok") {
            return;
          }
          trigger.dataset.confirmed = "1";
          trigger.click();
          delete trigger.dataset.confirmed;
        },
        { once: true },
      );
    },
    true,
  );
}

// Checkbox lists with a filter: typing hides the choices that do not match; the count says how many are ticked.
function setUpChecklists(root = document) {
  root.querySelectorAll("[data-checklist]").forEach((list) => {
    const tools = list.querySelector("[data-checklist-tools]");
    const filter = list.querySelector("[data-checklist-filter]");
    const count = list.querySelector("[data-checklist-count]");
    const boxes = Array.from(list.querySelectorAll("input[type=checkbox]"));
    const update = () => {
      const ticked = boxes.filter((box) => box.checked).length;
      count.textContent = count.dataset.template.replace("{n}", String(ticked));
    };
    tools.hidden = false;
    filter.addEventListener("input", () => {
      const text = filter.value.trim().toLowerCase();
      boxes.forEach((box) => {
        const row = box.closest("div") || box.parentElement;
        row.hidden = text !== "" && !row.textContent.toLowerCase().includes(text);
      });
    });
    filter.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault(); // Enter in the filter never submits the form
      }
    });
    list.addEventListener("change", update);
    update();
  });
}

onReady(() => {
  setUpDropdowns();
  setUpTabs();
  setUpModals();
  setUpConfirm();
  setUpChecklists();
  document.querySelectorAll("[data-toast]").forEach(armToast);
  document.addEventListener("click", (event) => {
    const demo = event.target.closest && event.target.closest("[data-toast-demo]");
    if (demo) {
      showToast(demo.dataset.toastDemo, "success");
    }
  });
});
