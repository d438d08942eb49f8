// The CSRF token of the page's forms (the cookie is HttpOnly, so pages carry it in a form).
export function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

// POST a form's fields to `url` and answer the JSON reply; throws with the server's message.
export async function postForm(url, fields) {
  const body = new FormData();
  body.append("csrfmiddlewaretoken", csrfToken());
  for (const [key, value] of fields) body.append(key, value);
  const response = await fetch(url, {
    method: "POST",
    body,
    headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    credentials: "same-origin",
  });
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return response.json();
}
