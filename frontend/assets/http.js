// JSON calls to the CRM's own API from the page's scripts (calendar, Gantt): the session cookie and the
// CSRF token the shell puts in <body hx-headers>. A refusal throws an Error whose message joins the field
// messages and whose `data` holds the answer.

export function csrf() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  } catch (error) {
    return "";
  }
}

export async function api(url, method, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(Object.values(data).flat().join(" ") || response.statusText);
    error.data = data;
    throw error;
  }
  return data;
}
