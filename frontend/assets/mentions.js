// @mentions in comment boxes: typing "@" and a few letters lists matching members (name or email) in
// an ARIA listbox; arrows move, Enter or Tab picks, Escape closes. The textarea stays a textbox (a
// textarea may not be a combobox): it points at the list and its active option, and a live region
// says how many suggestions there are. A pick inserts "@[Name](member:ID)",
// which the server stores as a mention of that member id and renders as a highlighted link.
const TRIGGER = /(^|[\s(])@([\p{L}\p{N}._+-]{1,40})$/u;

function setUpMentions(textarea) {
  const url = textarea.dataset.mentionsUrl;
  const list = document.createElement("ul");
  list.className = "mention-list";
  list.id = `${textarea.id}-mentions`;
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", textarea.dataset.mentionsLabel || "Members");
  list.hidden = true;
  const live = document.createElement("span");
  live.className = "visually-hidden";
  live.setAttribute("role", "status");
  textarea.insertAdjacentElement("afterend", list);
  list.insertAdjacentElement("afterend", live);
  textarea.setAttribute("aria-autocomplete", "list");
  textarea.setAttribute("aria-controls", list.id);

  let items = [];
  let active = -1;
  let query = null;
  let request = 0;

  const close = () => {
    list.hidden = true;
    list.innerHTML = "";
    items = [];
    active = -1;
    query = null;
    list.removeAttribute("data-open");
    textarea.removeAttribute("aria-activedescendant");
  };

  const highlight = (index) => {
    active = index;
    Array.from(list.children).forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    if (index >= 0) {
      textarea.setAttribute("aria-activedescendant", list.children[index].id);
      list.children[index].scrollIntoView({ block: "nearest" });
    }
  };

  const pick = (index) => {
    const member = items[index];
    if (!member || query === null) {
      return;
    }
    const caret = textarea.selectionStart;
    const start = caret - query.length - 1;
    const token = `@[${member.name.replace(/[[\]()]/g, "")}](member:${member.id}) `;
    textarea.value = textarea.value.slice(0, start) + token + textarea.value.slice(caret);
    const position = start + token.length;
    textarea.setSelectionRange(position, position);
    close();
    textarea.focus();
  };

  const show = (results) => {
    items = results;
    list.innerHTML = "";
    results.forEach((member, index) => {
      const li = document.createElement("li");
      li.id = `${list.id}-${index}`;
      li.setAttribute("role", "option");
      li.className = "mention-list__option";
      const name = document.createElement("span");
      name.textContent = member.name;
      const email = document.createElement("small");
      email.textContent = member.email;
      li.append(name, email);
      li.addEventListener("mousedown", (event) => {
        event.preventDefault();
        pick(index);
      });
      list.appendChild(li);
    });
    live.textContent = (textarea.dataset.mentionsCount || "%(count)s").replace("%(count)s", results.length);
    if (results.length) {
      list.hidden = false;
      list.setAttribute("data-open", "");
      highlight(0);
    } else {
      close();
    }
  };

  textarea.addEventListener("input", () => {
    const before = textarea.value.slice(0, textarea.selectionStart);
    const match = before.match(TRIGGER);
    if (!match) {
      close();
      return;
    }
    query = match[2];
    const mine = ++request;
    fetch(`${url}?q=${encodeURIComponent(query)}`, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : { results: [] }))
      .then((data) => {
        if (mine === request && query !== null) {
          const current = query;
          show(data.results);
          query = current;
        }
      })
      .catch(close);
  });

  textarea.addEventListener("keydown", (event) => {
    if (list.hidden || !items.length) {
      return;
    }
    if (event.key === "ArrowDown") {
      event.preventDefault();
      highlight((active + 1) % items.length);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      highlight((active - 1 + items.length) % items.length);
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      pick(active < 0 ? 0 : active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  textarea.addEventListener("blur", () => setTimeout(close, 150));
}

function onReady(fn) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fn);
  } else {
    fn();
  }
}

onReady(() => {
  document.querySelectorAll("textarea[data-mentions-url]").forEach(setUpMentions);
});
