// The onboarding checklist: while sample data loads, poll its progress and reload when it is done.
// The subdomain field of the signup form: suggest it from the organisation name, check it and preview
// the address (the server answers; see tenants/views.py subdomain_check).
function pollSample(box) {
  const url = box.dataset.statusUrl;
  const bar = box.querySelector("[data-sample-bar]");
  const text = box.querySelector("[data-sample-text]");
  const tick = async () => {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    if (bar) bar.value = data.progress;
    if (text) text.textContent = text.textContent.replace(/\d+%/, `${data.progress}%`);
    if (data.status === "loading") window.setTimeout(tick, 1000);
    else window.location.reload();
  };
  window.setTimeout(tick, 800);
}

document.querySelectorAll("[data-sample][data-status='loading']").forEach(pollSample);

function subdomainCheck(box) {
  const url = box.dataset.subdomainCheck;
  const form = box.parentElement.querySelector("form");
  const organization = form && form.querySelector("[name='organization']");
  const subdomain = form && form.querySelector("[name='subdomain']");
  const preview = box.querySelector("[data-address-preview]");
  const status = box.querySelector("[data-address-status]");
  if (!organization || !subdomain || !preview || !status) return;
  let typedByHand = subdomain.value !== "";
  let timer = 0;
  let latest = 0;
  const ask = (params) => {
    window.clearTimeout(timer);
    timer = window.setTimeout(async () => {
      const asked = ++latest;
      const response = await fetch(`${url}?${new URLSearchParams(params)}`, { headers: { Accept: "application/json" } });
      if (asked !== latest) return; // an older answer arriving late
      const data = await response.json();
      if (!response.ok) { status.textContent = data.detail || ""; return; }
      if (data.suggestion !== undefined && !typedByHand) subdomain.value = data.suggestion;
      if (data.url) preview.textContent = data.url;
      status.textContent = data.message;
      preview.classList.toggle("address-preview--free", data.available);
      preview.classList.toggle("address-preview--taken", !data.available);
    }, 300);
  };
  organization.addEventListener("input", () => {
    if (!typedByHand) ask({ organization: organization.value });
  });
  subdomain.addEventListener("input", () => {
    typedByHand = subdomain.value !== "";
    ask(typedByHand ? { subdomain: subdomain.value } : { organization: organization.value });
  });
}

document.querySelectorAll("[data-subdomain-check]").forEach(subdomainCheck);

// "Remove sample data" asks first.
document.querySelectorAll("[data-onboarding] form").forEach((form) => {
  const button = form.querySelector("[data-confirm]");
  if (!button) return;
  form.addEventListener("submit", (event) => {
    if (!window.confirm(button.dataset.confirm)) event.preventDefault();
  });
});
