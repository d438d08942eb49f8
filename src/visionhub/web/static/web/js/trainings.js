// Keeps the state and progress of the trainings on the page current while they report.
// Every element with data-training="ID" holds fields marked data-field="state|progress|…";
// the status URL (data-status-url on it or an ancestor) answers for many ids at once.
const POLL_MS = 2000;

function utc(iso) {
  return iso ? new Date(iso).toISOString().slice(0, 19).replace("T", " ") : "—";
}

function show(element, status) {
  for (const field of element.querySelectorAll("[data-field]")) {
    const name = field.dataset.field;
    if (name === "state") {
      field.textContent = status.state;
      field.className = `state state-${status.state.toLowerCase()}`;
    } else if (name === "progress") {
      field.value = status.percent;
    } else if (name === "percent") {
      field.textContent = String(status.percent);
    } else if (name === "start_time" || name === "update_time") {
      field.textContent = utc(status[name]);
    } else if (name === "details") {
      field.textContent = status.details;
    }
  }
  element.dataset.terminal = status.terminal ? "1" : "0";
}

function watch() {
  const elements = new Map();
  for (const element of document.querySelectorAll("[data-training]")) {
    if (element.dataset.terminal !== "1") elements.set(element.dataset.training, element);
  }
  if (elements.size === 0) return;
  const holder = document.querySelector("[data-status-url]");
  const base = new URL(holder.dataset.statusUrl, window.location.href);

  async function poll() {
    const url = new URL(base);
    for (const id of elements.keys()) url.searchParams.append("id", id);
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) {
        const body = await response.json();
        for (const status of body.trainings) {
          const element = elements.get(String(status.id));
          if (!element) continue;
          show(element, status);
          if (status.terminal) elements.delete(String(status.id));
        }
      }
    } catch (error) {
      // A failed poll (server restarting, network blip) is retried at the next tick.
    }
    if (elements.size > 0) window.setTimeout(poll, POLL_MS);
  }
  window.setTimeout(poll, POLL_MS);
}

watch();
