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
