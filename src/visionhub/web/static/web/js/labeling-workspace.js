// The labeling workspace: draw boxes and polygons (or add classes) over the image, pick the
// category by keyboard, undo, and every change is saved at once (autosave) through the page's
// own endpoint, with the session's CSRF token.
import { colour, element, fitOverlay, imagePoint, shapesOf, strokeFor } from "./labeling-draw.js";

const data = JSON.parse(document.getElementById("ws-data").textContent);
const image = document.getElementById("ws-image");
const svg = document.getElementById("ws-overlay");
const list = document.getElementById("ws-list");
const state = document.getElementById("ws-save-state");
const csrf = document.querySelector("#ws-csrf input[name=csrfmiddlewaretoken]").value;
const { width, height } = data.image;
const stroke = strokeFor(width, height);
const mine = data.labels.find((label) => label.username === data.username);

let annotations = mine ? structuredClone(mine.annotations) : structuredClone(data.default_labels);
const history = [];
let tool = "box";
let category = data.categories[0] ?? null;
let selected = -1;
let drawing = null; // {kind: "box", start} or {kind: "polygon", points}
let saving = Promise.resolve();
let timer = null;

if (!mine && annotations.length) document.getElementById("ws-prelabels").hidden = false;

const round = (v) => Math.round(v * 100) / 100;
const clampX = (v) => Math.min(Math.max(v, 0), width);
const clampY = (v) => Math.min(Math.max(v, 0), height);

function blank() {
  return { category, bbox: null, segmentation: null, keypoints: null, caption: "", is_group: false, conf: 1 };
}

function change(mutate) {
  history.push(structuredClone(annotations));
  mutate();
  render();
  scheduleSave();
}

function scheduleSave() {
  state.textContent = "unsaved";
  clearTimeout(timer);
  timer = setTimeout(save, 250);
}

function save() {
  timer = null;
  const body = JSON.stringify({ annotations });
  saving = saving.then(async () => {
    state.textContent = "saving…";
    const response = await fetch(data.save_url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body,
      credentials: "same-origin",
    });
    const answer = await response.json();
    if (response.ok) {
      state.textContent = "saved";
      state.dataset.labelId = answer.id;
      document.getElementById("ws-my-status").textContent = "reviewing";
    } else {
      state.textContent = `not saved: ${answer.error.message}`;
    }
  });
  return saving;
}

function render() {
  svg.replaceChildren();
  annotations.forEach((annotation, index) => {
    const skeleton = data.keypoints[annotation.category]?.skeleton;
    for (const shape of shapesOf(annotation, data.categories, index === selected ? stroke * 2.5 : stroke, skeleton)) {
      shape.dataset.index = String(index);
      svg.append(shape);
    }
  });
  if (drawing?.kind === "box" && drawing.current) {
    const [x, y, w, h] = boxOf(drawing.start, drawing.current);
    svg.append(element("rect", { x, y, width: w, height: h, fill: "none",
      stroke: colour(category, data.categories), "stroke-width": stroke, "stroke-dasharray": stroke * 3 }));
  }
  if (drawing?.kind === "keypoints") {
    for (let i = 0; i + 2 < drawing.values.length; i += 3) {
      if (drawing.values[i + 2] > 0) {
        svg.append(element("circle", { cx: drawing.values[i], cy: drawing.values[i + 1], r: stroke * 2,
          fill: colour(category, data.categories) }));
      }
    }
  }
  const hint = document.getElementById("ws-keypoint-hint");
  if (drawing?.kind === "keypoints") {
    hint.textContent = `Click the ${drawing.names[drawing.values.length / 3]} (X: not visible)`;
  } else {
    hint.textContent = "";
  }
  if (drawing?.kind === "polygon") {
    const points = drawing.points.map((p) => `${p.x},${p.y}`).join(" ");
    svg.append(element("polyline", { points, fill: "none", stroke: colour(category, data.categories),
      "stroke-width": stroke }));
  }
  list.replaceChildren(...annotations.map((annotation, index) => {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colour(annotation.category, data.categories);
    const kind = annotation.bbox ? "box" : annotation.segmentation ? "polygon" : annotation.keypoints ? "keypoints" : "class";
    item.append(swatch, ` ${annotation.category ?? "(none)"} · ${kind}`);
    item.dataset.testid = "annotation";
    if (index === selected) item.className = "selected";
    item.addEventListener("click", () => { selected = index; render(); });
    return item;
  }));
  for (const button of document.querySelectorAll("#ws-tools button")) {
    button.classList.toggle("primary", button.dataset.tool === tool);
  }
  renderCategories();
}

function renderCategories() {
  const holder = document.getElementById("ws-categories");
  holder.replaceChildren(...data.categories.map((name, index) => {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colour(name, data.categories);
    item.append(swatch, ` ${index < 9 ? index + 1 + " · " : ""}${name}`);
    if (name === category) item.className = "selected";
    item.addEventListener("click", () => pickCategory(index));
    return item;
  }));
}

function pickCategory(index) {
  if (index >= data.categories.length) return;
  category = data.categories[index];
  if (selected >= 0) change(() => { annotations[selected].category = category; });
  else if (tool === "keypoints") setTool("keypoints");
  else render();
}

function boxOf(a, b) {
  const x0 = clampX(Math.min(a.x, b.x)), y0 = clampY(Math.min(a.y, b.y));
  const x1 = clampX(Math.max(a.x, b.x)), y1 = clampY(Math.max(a.y, b.y));
  return [round(x0), round(y0), round(x1 - x0), round(y1 - y0)];
}

function closePolygon() {
  if (drawing?.kind !== "polygon") return;
  const points = drawing.points;
  drawing = null;
  if (points.length < 3) { render(); return; }
  const flat = points.flatMap((p) => [round(clampX(p.x)), round(clampY(p.y))]);
  change(() => { annotations.push({ ...blank(), segmentation: [flat] }); selected = annotations.length - 1; });
}

svg.addEventListener("mousedown", (event) => {
  if (event.button !== 0) return;
  const hit = event.target.dataset?.index;
  if (tool === "box") {
    if (hit !== undefined && !event.shiftKey) { selected = Number(hit); render(); return; }
    drawing = { kind: "box", start: imagePoint(svg, event), current: null };
  }
});
svg.addEventListener("mousemove", (event) => {
  if (drawing?.kind === "box") { drawing.current = imagePoint(svg, event); render(); }
});
window.addEventListener("mouseup", (event) => {
  if (drawing?.kind !== "box") return;
  const end = imagePoint(svg, event);
  const bbox = boxOf(drawing.start, end);
  drawing = null;
  if (bbox[2] < 1 || bbox[3] < 1) { render(); return; }
  change(() => { annotations.push({ ...blank(), bbox }); selected = annotations.length - 1; });
});
function addKeypoint(x, y, visible) {
  drawing.values.push(round(clampX(x)), round(clampY(y)), visible);
  if (drawing.values.length < 3 * drawing.names.length) { render(); return; }
  const keypoints = drawing.values;
  drawing = { kind: "keypoints", names: drawing.names, values: [] };
  const seen = [];
  for (let i = 0; i < keypoints.length; i += 3) if (keypoints[i + 2] > 0) seen.push({ x: keypoints[i], y: keypoints[i + 1] });
  const bbox = seen.length ? boxOf(
    { x: Math.min(...seen.map((p) => p.x)), y: Math.min(...seen.map((p) => p.y)) },
    { x: Math.max(...seen.map((p) => p.x)), y: Math.max(...seen.map((p) => p.y)) }) : null;
  change(() => { annotations.push({ ...blank(), keypoints, bbox }); selected = annotations.length - 1; });
}

svg.addEventListener("click", (event) => {
  if (tool === "keypoints" && drawing?.kind === "keypoints") {
    const p = imagePoint(svg, event);
    addKeypoint(p.x, p.y, 2);
    return;
  }
  if (tool !== "polygon") return;
  if (!drawing) drawing = { kind: "polygon", points: [] };
  drawing.points.push(imagePoint(svg, event));
  render();
});
svg.addEventListener("dblclick", (event) => {
  if (tool !== "polygon" || !drawing) return;
  // The double-click's second click added a point on top of the last one.
  drawing.points.pop();
  event.preventDefault();
  closePolygon();
});

function setTool(name) {
  if (name === "class") {
    if (category !== null) change(() => { annotations.push(blank()); selected = annotations.length - 1; });
    return;
  }
  if (name === "keypoints") {
    const spec = data.keypoints[category];
    if (!spec) { state.textContent = `${category} has no keypoint names`; return; }
    tool = name;
    drawing = { kind: "keypoints", names: spec.names, values: [] };
    render();
    return;
  }
  tool = name;
  drawing = null;
  render();
}

for (const button of document.querySelectorAll("#ws-tools button")) {
  button.addEventListener("click", () => setTool(button.dataset.tool));
}

async function go(link) {
  if (!link) return;
  if (timer) { clearTimeout(timer); save(); }
  await saving;
  window.location.assign(link.href);
}

document.addEventListener("keydown", (event) => {
  if (event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement) return;
  const key = event.key;
  if ((event.ctrlKey || event.metaKey) && key.toLowerCase() === "z") {
    event.preventDefault();
    if (history.length) { annotations = history.pop(); selected = -1; render(); scheduleSave(); }
  } else if (key === "Enter") {
    closePolygon();
  } else if (key === "Escape") {
    drawing = tool === "keypoints" && drawing ? { ...drawing, values: [] } : null;
    selected = -1;
    render();
  } else if ((key === "Delete" || key === "Backspace") && selected >= 0) {
    const index = selected;
    selected = -1;
    change(() => { annotations.splice(index, 1); });
  } else if (/^[1-9]$/.test(key)) {
    pickCategory(Number(key) - 1);
  } else if (key === "b" || key === "p") {
    setTool(key === "b" ? "box" : "polygon");
  } else if (key === "c") {
    setTool("class");
  } else if (key === "k") {
    setTool("keypoints");
  } else if (key === "x" && drawing?.kind === "keypoints") {
    addKeypoint(0, 0, 0);
  } else if (key === "n" || key === "ArrowRight") {
    go(document.getElementById("ws-next"));
  } else if (key === "ArrowLeft") {
    go(document.getElementById("ws-prev"));
  }
});

// The next image is fetched now, so that it shows at once.
if (data.next_image_url) new Image().src = data.next_image_url;

function start() {
  fitOverlay(image, svg, width, height);
  render();
  document.getElementById("ws").dataset.ready = "true";
}
if (image.complete) start(); else image.addEventListener("load", start);
