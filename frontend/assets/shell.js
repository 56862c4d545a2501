// The app shell: the sidebar (drawer on phones, groups that remember being collapsed), keyboard shortcuts,
// the command palette (ARIA combobox + listbox) and the theme switch of the member menu.

function onReady(fn) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fn);
  } else {
    fn();
  }
}

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  } catch (error) {
    return "";
  }
}

function postJSON(url, data) {
  return fetch(url, {
    method: "POST",
    body: JSON.stringify(data),
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    credentials: "same-origin",
    keepalive: true,
  });
}

// Drawer (phones): the menu button opens the sidebar over the page; Escape, the backdrop or the close
// button shut it and focus returns to the menu button.
function setUpDrawer() {
  const sidebar = document.querySelector("[data-drawer]");
  const toggle = document.querySelector("[data-drawer-toggle]");
  const backdrop = document.querySelector(".drawer-backdrop");
  if (!sidebar || !toggle) {
    return;
  }
  const setOpen = (open) => {
    sidebar.classList.toggle("sidebar--open", open);
    toggle.setAttribute("aria-expanded", String(open));
    if (backdrop) {
      backdrop.hidden = !open;
    }
    if (open) {
      const first = sidebar.querySelector("a, button");
      if (first) {
        first.focus();
      }
    } else if (sidebar.contains(document.activeElement)) {
      toggle.focus();
    }
  };
  toggle.addEventListener("click", () => setOpen(!sidebar.classList.contains("sidebar--open")));
  document.querySelectorAll("[data-drawer-close]").forEach((el) => el.addEventListener("click", () => setOpen(false)));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && sidebar.classList.contains("sidebar--open")) {
      setOpen(false);
    }
  });
}

// Sidebar groups are <details>: opening and closing works natively; the collapsed ones are remembered.
function setUpSidebarGroups() {
  const nav = document.querySelector("[data-sidebar]");
  if (!nav) {
    return;
  }
  const groups = Array.from(nav.querySelectorAll("details[data-nav-group]"));
  groups.forEach((group) => {
    group.addEventListener("toggle", () => {
      const collapsed = groups.filter((g) => !g.open).map((g) => g.dataset.navGroup);
      postJSON(nav.dataset.sidebarUrl, { collapsed }).catch(() => {});
    });
  });
}

// Theme: the member menu's buttons apply at once and are saved; without JavaScript the form posts.
function setUpTheme() {
  const form = document.querySelector("[data-theme-form]");
  if (!form) {
    return;
  }
  form.addEventListener("submit", (event) => {
    const button = event.submitter;
    if (!button || button.name !== "theme") {
      return;
    }
    event.preventDefault();
    const theme = button.value;
    if (theme === "system") {
      document.documentElement.removeAttribute("data-theme");
    } else {
      document.documentElement.setAttribute("data-theme", theme);
    }
    form.querySelectorAll("button[name=theme]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    postJSON(form.action, { theme }).catch(() => form.submit());
  });
}

// ---------------------------------------------------------------------------------------------------
// Command palette

function fold(text) {
  return String(text || "")
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "");
}

function matches(entry, words) {
  const haystack = fold(`${entry.label} ${entry.hint || ""}`);
  return words.every((word) => haystack.includes(word));
}

function setUpPalette() {
  const form = document.querySelector("[data-palette]");
  if (!form) {
    return;
  }
  const input = form.querySelector("[role=combobox]");
  const popup = form.querySelector("[data-palette-popup]");
  const list = form.querySelector("[role=listbox]");
  const status = form.querySelector("[data-palette-status]");
  const entries = JSON.parse(document.getElementById("palette-data").textContent);
  const text = JSON.parse(document.getElementById("palette-text").textContent);
  const icons = document.body.dataset.icons || "";
  let options = [];
  let active = -1;
  let records = [];
  let recordsFor = "";
  let pending = null; // the fetch of records for the current text, if any
  let timer = null;
  let userMoved = false;

  const icon = (name) => `<svg class="icon" width="16" height="16" aria-hidden="true"><use href="${icons}#${name}"></use></svg>`;
  const iconName = (name) => (["person", "record", "cog"].includes(name) ? { person: "user", record: "file-text", cog: "settings" }[name] : name);

  function build(query) {
    const words = fold(query).split(/\s+/).filter(Boolean);
    const sections = [];
    if (words.length && recordsFor === query && records.length) {
      sections.push([text.records, records.map((r) => ({ ...r, kind: "record" }))]);
    }
    const actions = entries.filter((e) => e.kind === "action" && (!words.length || matches(e, words)));
    const pages = entries.filter((e) => e.kind !== "action" && (!words.length || matches(e, words)));
    if (actions.length) sections.push([text.actions, words.length ? actions.slice(0, 6) : actions.slice(0, 4)]);
    if (pages.length) sections.push([text.pages, words.length ? pages.slice(0, 8) : pages.slice(0, 6)]);
    if (words.length) {
      const searchUrl = `${form.action}?${new URLSearchParams({ q: query })}`;
      sections.push(["", [{ kind: "search", label: text.search.replace("{q}", query), url: searchUrl, icon: "search" }]]);
    }
    return sections;
  }

  function render() {
    const query = input.value.trim();
    const sections = build(query);
    list.innerHTML = "";
    options = [];
    sections.forEach(([title, items]) => {
      if (title) {
        const heading = document.createElement("li");
        heading.className = "palette__section";
        heading.setAttribute("role", "presentation");
        heading.textContent = title;
        list.appendChild(heading);
      }
      items.forEach((item) => {
        const li = document.createElement("li");
        li.id = `palette-option-${options.length}`;
        li.className = "palette__option";
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.dataset.url = item.url;
        li.innerHTML = `${icon(iconName(item.icon || "file-text"))}<span class="palette__option-label"></span><span class="palette__option-hint"></span>`;
        li.querySelector(".palette__option-label").textContent = item.label;
        li.querySelector(".palette__option-hint").textContent = item.number ? `${item.hint} · ${item.number}` : item.hint || "";
        li.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus in the input
        li.addEventListener("click", () => go(li));
        list.appendChild(li);
        options.push(li);
      });
    });
    if (!userMoved || active >= options.length) {
      active = options.length ? 0 : -1;
    }
    highlight();
    status.textContent = text.results.replace("{n}", String(options.length));
  }

  function highlight() {
    options.forEach((option, i) => option.setAttribute("aria-selected", String(i === active)));
    if (active >= 0) {
      input.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function open() {
    if (popup.hidden) {
      popup.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    render();
  }

  function close() {
    popup.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
    userMoved = false;
  }

  function go(option) {
    if (option) {
      close();
      window.location.assign(option.dataset.url);
    }
  }

  function fetchRecords(query) {
    if (query.length < 2) {
      records = [];
      recordsFor = query;
      pending = null;
      return Promise.resolve();
    }
    const url = `${form.dataset.recordsUrl}?${new URLSearchParams({ q: query })}`;
    const request = fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : { results: [] }))
      .then((data) => {
        if (input.value.trim() === query) {
          records = data.results || [];
          recordsFor = query;
          if (!popup.hidden) {
            render();
          }
        }
      })
      .catch(() => {})
      .finally(() => {
        if (pending === request) {
          pending = null;
        }
      });
    pending = request;
    return request;
  }

  input.addEventListener("focus", () => open());
  input.addEventListener("input", () => {
    userMoved = false;
    open();
    clearTimeout(timer);
    const query = input.value.trim();
    // The records of this text are on their way: Enter waits for them instead of acting on stale options.
    pending = new Promise((resolve) => {
      timer = setTimeout(() => fetchRecords(query).then(resolve), 120);
    });
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (popup.hidden) {
        open();
        return;
      }
      if (options.length) {
        userMoved = true;
        active = (active + (event.key === "ArrowDown" ? 1 : -1) + options.length) % options.length;
        highlight();
      }
    } else if (event.key === "Enter") {
      event.preventDefault();
      const act = () => {
        if (active >= 0) {
          go(options[active]);
        } else if (input.value.trim()) {
          form.submit();
        }
      };
      if (pending && !userMoved) {
        pending.then(act);
      } else {
        act();
      }
    } else if (event.key === "Escape") {
      if (!popup.hidden) {
        event.preventDefault();
        close();
      } else if (input.value) {
        input.value = "";
      } else {
        input.blur();
      }
    } else if (event.key === "Tab") {
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 100));

  const kbd = form.querySelector(".palette__kbd");
  if (kbd && /Mac|iPhone|iPad/.test(navigator.platform || "")) {
    kbd.textContent = "⌘K";
  }

  // `/` (outside a text field) or Ctrl/Cmd-K focuses the palette from anywhere.
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest && event.target.closest("input, textarea, select, [contenteditable=true]");
    if ((event.key === "k" || event.key === "K") && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      input.focus();
      input.select();
    } else if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      input.focus();
    }
  });
}

onReady(() => {
  setUpDrawer();
  setUpSidebarGroups();
  setUpTheme();
  setUpPalette();
});
