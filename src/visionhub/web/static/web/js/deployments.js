// The deployment page's live statistics, redrawn by the server every few seconds, and a
// classification's answer, shown as soon as the fleet gives it.
const STATS_MS = 3000;
const RESULT_MS = 1000;

async function fetchOk(url, accept) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: accept } });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response;
}

function refreshStats(section) {
  const body = section.querySelector("[data-stats-body]");
  async function tick() {
    try {
      const response = await fetchOk(section.dataset.statsUrl, "text/html");
      // The fragment is the server's own template, escaped there like the page around it.
      body.innerHTML = await response.text();
      section.dataset.refreshed = String(Date.now());
    } catch (error) {
      // Retried at the next tick.
    }
    window.setTimeout(tick, STATS_MS);
  }
  window.setTimeout(tick, STATS_MS);
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function showResult(holder, result) {
  const field = (name) => holder.querySelector(`[data-field="${name}"]`);
  field("status").textContent = result.status;
  field("status").className = `state state-${result.status}`;
  field("label").textContent = result.label ?? "—";
  field("attempts").textContent = String(result.attempts);
  const rows = result.scores.map((score) => {
    const tr = document.createElement("tr");
    const meter = document.createElement("meter");
    meter.min = 0;
    meter.max = 1;
    meter.value = score.score;
    const last = document.createElement("td");
    last.append(meter);
    tr.append(cell(score.label), cell(score.score.toFixed(4)), last);
    return tr;
  });
  field("scores").replaceChildren(...rows);
  field("errors").replaceChildren(
    ...result.errors.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }),
  );
  if (result.terminal) field("waiting")?.remove();
  holder.dataset.terminal = result.terminal ? "1" : "0";
}

function followClassification(holder) {
  async function tick() {
    try {
      const response = await fetchOk(holder.dataset.statusUrl, "application/json");
      showResult(holder, await response.json());
    } catch (error) {
      // Retried at the next tick.
    }
    if (holder.dataset.terminal !== "1") window.setTimeout(tick, RESULT_MS);
  }
  if (holder.dataset.terminal !== "1") window.setTimeout(tick, RESULT_MS);
}

const stats = document.querySelector("#stats[data-stats-url]");
if (stats) refreshStats(stats);
const classification = document.querySelector("#classification[data-status-url]");
if (classification) followClassification(classification);
