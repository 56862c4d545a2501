// Email: the compose form (template preview fills subject and body, a simple rich-text editor kept in step
// with the HTML textarea, address suggestions for to/cc/bcc).

function composeEnhance(form) {
  const body = form.querySelector("[data-mail-body]");
  const editor = form.querySelector("[data-mail-editor]");
  if (body && editor) {
    editor.innerHTML = body.value;
    editor.hidden = false;
    body.hidden = true;
    editor.addEventListener("input", () => {
      body.value = editor.innerHTML;
    });
    form.addEventListener("submit", () => {
      body.value = editor.innerHTML;
    });
  }
  const template = form.querySelector("[data-mail-template]");
  if (template) {
    template.addEventListener("change", async () => {
      if (!template.value) return;
      const url = new URL(form.dataset.previewUrl.replace("/0/", `/${template.value}/`), window.location.origin);
      if (template.dataset.record) url.searchParams.set("record", template.dataset.record);
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      const subject = form.querySelector("#mail-subject");
      if (subject) subject.value = data.subject;
      if (body) body.value = data.body_html;
      if (editor) editor.innerHTML = data.body_html;
    });
  }
  const options = form.querySelector("#mail-address-options");
  let timer = null;
  for (const input of form.querySelectorAll("[data-mail-addresses]")) {
    input.addEventListener("input", () => {
      clearTimeout(timer);
      const last = input.value.split(",").pop().trim();
      if (last.length < 2 || !options) return;
      timer = setTimeout(async () => {
        const url = new URL(form.dataset.addressesUrl, window.location.origin);
        url.searchParams.set("q", last);
        const response = await fetch(url, { credentials: "same-origin" });
        if (!response.ok) return;
        const data = await response.json();
        const prefix = input.value.includes(",") ? input.value.slice(0, input.value.lastIndexOf(",") + 1) + " " : "";
        options.replaceChildren(
          ...data.results.map((r) => {
            const option = document.createElement("option");
            option.value = prefix + r.value;
            option.label = `${r.text} · ${r.secondary}`;
            return option;
          }),
        );
      }, 200);
    });
  }
}

function init() {
  for (const form of document.querySelectorAll("form[data-mail-compose]")) composeEnhance(form);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
