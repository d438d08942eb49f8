// The image viewer: the image on a canvas with every annotation drawn over it (boxes, polygons,
// RLE masks, alpha mattes, keypoints with skeleton and names, captions, class labels), label
// sets toggled, GT and Pred together or side by side, a confidence slider for predictions,
// zoom (wheel, buttons) and pan (drag), arrows for the previous and next image.
// Each canvas publishes its view (data-scale, data-offset-x, data-offset-y) and how many
// annotations it drew (data-drawn), so that tests can check pixels at image coordinates.
import { maskImage } from "./rle.js";

const data = JSON.parse(document.getElementById("viewer-data").textContent);
const canvases = {
  main: document.getElementById("canvas-main"),
  pred: document.getElementById("canvas-pred"),
};
const predStage = document.getElementById("stage-pred");
const stages = document.getElementById("stages");
const kinds = Object.fromEntries(data.label_sets.map((s) => [s.id, s.kind]));
const state = { visible: new Set(data.label_sets.map((s) => s.id)), mode: "together", minConf: 0 };
const view = { scale: 1, x: 0, y: 0, fitted: false };
const picture = new Image();
const layers = new Map(); // annotation id -> canvas of its mask or matte, made once

const FILL_ALPHA = 0.5;

function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function colorOf(annotation) {
  const category = data.categories[String(annotation.category)];
  return category ? category.color : "#ffffff";
}

function nameOf(annotation) {
  const category = data.categories[String(annotation.category)];
  return category ? category.name : "";
}

function shown(annotation, canvasRole) {
  if (!state.visible.has(annotation.label_set)) return false;
  const kind = kinds[annotation.label_set];
  if (kind === "Pred" && annotation.conf < state.minConf) return false;
  if (state.mode === "side-by-side") return (kind === "Pred") === (canvasRole === "pred");
  return canvasRole === "main";
}

function fit() {
  const stage = canvases.main.parentElement;
  const { width, height } = data.image;
  view.scale = Math.min(stage.clientWidth / width, stage.clientHeight / height);
  view.x = (stage.clientWidth - width * view.scale) / 2;
  view.y = (stage.clientHeight - height * view.scale) / 2;
  view.fitted = true;
}

function layer(annotation, make) {
  if (!layers.has(annotation.id)) layers.set(annotation.id, make());
  return layers.get(annotation.id);
}

function maskLayer(annotation) {
  return layer(annotation, () => {
    const [r, g, b] = rgb(colorOf(annotation));
    const pixels = maskImage(annotation.segmentation, [r, g, b, Math.round(255 * FILL_ALPHA)]);
    const offscreen = document.createElement("canvas");
    offscreen.width = pixels.width;
    offscreen.height = pixels.height;
    offscreen.getContext("2d").putImageData(pixels, 0, 0);
    return offscreen;
  });
}

function matteLayer(annotation) {
  return layer(annotation, () => {
    const offscreen = document.createElement("canvas");
    offscreen.width = data.image.width;
    offscreen.height = data.image.height;
    const matte = new Image();
    matte.onload = () => {
      const ctx = offscreen.getContext("2d");
      ctx.drawImage(matte, 0, 0, offscreen.width, offscreen.height);
      const pixels = ctx.getImageData(0, 0, offscreen.width, offscreen.height);
      const [r, g, b] = rgb(colorOf(annotation));
      const p = pixels.data;
      for (let i = 0; i < p.length; i += 4) {
        // A matte's opacity is its grey level (and its own alpha, when it has one).
        const opacity = (p[i] / 255) * (p[i + 3] / 255);
        p[i] = r; p[i + 1] = g; p[i + 2] = b; p[i + 3] = Math.round(255 * FILL_ALPHA * opacity);
      }
      ctx.putImageData(pixels, 0, 0);
      render();
    };
    matte.src = annotation.alpha_url;
    return offscreen;
  });
}

function label(ctx, text, x, y, color) {
  const size = 12 / view.scale;
  ctx.font = `${size}px system-ui, sans-serif`;
  const width = ctx.measureText(text).width;
  ctx.fillStyle = "rgba(20, 24, 32, 0.75)";
  ctx.fillRect(x, y - size * 1.3, width + size * 0.6, size * 1.3);
  ctx.fillStyle = color;
  ctx.fillText(text, x + size * 0.3, y - size * 0.3);
}

function drawKeypoints(ctx, annotation, color) {
  const points = annotation.keypoints;
  const category = data.categories[String(annotation.category)] || {};
  const names = category.keypoint_names || [];
  const at = (i) => [points[3 * i], points[3 * i + 1], points[3 * i + 2]];
  ctx.strokeStyle = color;
  ctx.lineWidth = 2 / view.scale;
  for (const [a, b] of category.skeleton || []) {
    const [x1, y1, v1] = at(a - 1);
    const [x2, y2, v2] = at(b - 1);
    if (v1 > 0 && v2 > 0) {
      ctx.beginPath();
      ctx.moveTo(x1, y1);
      ctx.lineTo(x2, y2);
      ctx.stroke();
    }
  }
  for (let i = 0; i < points.length / 3; i += 1) {
    const [x, y, v] = at(i);
    if (v <= 0) continue;
    ctx.beginPath();
    ctx.arc(x, y, 4 / view.scale, 0, 2 * Math.PI);
    ctx.fillStyle = color;
    ctx.fill();
    if (names[i]) label(ctx, names[i], x + 5 / view.scale, y - 3 / view.scale, "#ffffff");
  }
}

function drawAnnotation(ctx, annotation) {
  const color = colorOf(annotation);
  const [r, g, b] = rgb(color);
  const kind = kinds[annotation.label_set];
  const segmentation = annotation.segmentation;
  if (segmentation && !Array.isArray(segmentation)) {
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(maskLayer(annotation), 0, 0);
  } else if (Array.isArray(segmentation)) {
    ctx.fillStyle = `rgba(${r}, ${g}, ${b}, ${FILL_ALPHA})`;
    ctx.strokeStyle = color;
    ctx.lineWidth = 2 / view.scale;
    for (const polygon of segmentation) {
      ctx.beginPath();
      for (let i = 0; i < polygon.length; i += 2) {
        if (i === 0) ctx.moveTo(polygon[0], polygon[1]);
        else ctx.lineTo(polygon[i], polygon[i + 1]);
      }
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
    }
  }
  if (annotation.alpha_url) ctx.drawImage(matteLayer(annotation), 0, 0);
  if (annotation.bbox) {
    const [x, y, w, h] = annotation.bbox;
    ctx.strokeStyle = color;
    ctx.lineWidth = 2 / view.scale;
    if (kind === "Pred") ctx.setLineDash([6 / view.scale, 3 / view.scale]);
    ctx.strokeRect(x, y, w, h);
    ctx.setLineDash([]);
    const text = kind === "Pred" ? `${nameOf(annotation)} ${annotation.conf.toFixed(2)}` : nameOf(annotation);
    if (text) label(ctx, text, x, y, color);
    if (annotation.caption) label(ctx, `“${annotation.caption}”`, x, y + h + 16 / view.scale, "#ffffff");
  }
  if (annotation.keypoints) drawKeypoints(ctx, annotation, color);
}

function classLabels(annotation) {
  return !(annotation.bbox || annotation.segmentation || annotation.keypoints || annotation.alpha_url);
}

function draw(canvas, role) {
  const stage = canvas.parentElement;
  canvas.width = stage.clientWidth;
  canvas.height = stage.clientHeight;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.setTransform(view.scale, 0, 0, view.scale, view.x, view.y);
  ctx.imageSmoothingEnabled = view.scale < 1;
  if (picture.complete && picture.naturalWidth) ctx.drawImage(picture, 0, 0, data.image.width, data.image.height);
  let drawn = 0;
  const texts = [];
  for (const annotation of data.annotations) {
    if (!shown(annotation, role)) continue;
    drawn += 1;
    if (classLabels(annotation)) {
      const conf = kinds[annotation.label_set] === "Pred" ? ` ${annotation.conf.toFixed(2)}` : "";
      texts.push([`${nameOf(annotation)}${conf}${annotation.caption ? ` “${annotation.caption}”` : ""}`.trim(), colorOf(annotation)]);
    } else {
      drawAnnotation(ctx, annotation);
    }
  }
  // Class labels and captions of the whole image: in the corner, at screen size.
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.font = "13px system-ui, sans-serif";
  texts.forEach(([text, color], i) => {
    const width = ctx.measureText(text).width;
    ctx.fillStyle = "rgba(20, 24, 32, 0.8)";
    ctx.fillRect(8, 8 + i * 20, width + 10, 18);
    ctx.fillStyle = color;
    ctx.fillText(text, 13, 21 + i * 20);
  });
  canvas.dataset.scale = String(view.scale);
  canvas.dataset.offsetX = String(view.x);
  canvas.dataset.offsetY = String(view.y);
  canvas.dataset.drawn = String(drawn);
}

function render() {
  const side = state.mode === "side-by-side";
  predStage.hidden = !side;
  stages.classList.toggle("side-by-side", side);
  if (!view.fitted) fit();
  draw(canvases.main, "main");
  if (side) draw(canvases.pred, "pred");
  document.body.dataset.viewerReady = picture.complete ? "yes" : "loading";
}

function zoomAt(factor, cx, cy) {
  view.x = cx - (cx - view.x) * factor;
  view.y = cy - (cy - view.y) * factor;
  view.scale *= factor;
  render();
}

function center() {
  const stage = canvases.main.parentElement;
  return [stage.clientWidth / 2, stage.clientHeight / 2];
}

for (const canvas of Object.values(canvases)) {
  const stage = canvas.parentElement;
  stage.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = canvas.getBoundingClientRect();
    zoomAt(event.deltaY < 0 ? 1.25 : 0.8, event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });
  let drag = null;
  stage.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX, y: event.clientY };
    stage.setPointerCapture(event.pointerId);
    stage.classList.add("dragging");
  });
  stage.addEventListener("pointermove", (event) => {
    if (!drag) return;
    view.x += event.clientX - drag.x;
    view.y += event.clientY - drag.y;
    drag = { x: event.clientX, y: event.clientY };
    render();
  });
  const stop = () => { drag = null; stage.classList.remove("dragging"); };
  stage.addEventListener("pointerup", stop);
  stage.addEventListener("pointercancel", stop);
}

document.querySelectorAll(".label-set-toggle").forEach((box) => box.addEventListener("change", () => {
  const id = Number(box.value);
  if (box.checked) state.visible.add(id);
  else state.visible.delete(id);
  render();
}));
document.querySelectorAll("input[name=mode]").forEach((radio) => radio.addEventListener("change", () => {
  state.mode = radio.value;
  view.fitted = false;
  render();
}));
const slider = document.getElementById("conf");
const sliderValue = document.getElementById("conf-value");
slider.addEventListener("input", () => {
  state.minConf = Number(slider.value);
  sliderValue.textContent = state.minConf.toFixed(2);
  render();
});
document.getElementById("zoom-in").addEventListener("click", () => zoomAt(1.25, ...center()));
document.getElementById("zoom-out").addEventListener("click", () => zoomAt(0.8, ...center()));
document.getElementById("zoom-fit").addEventListener("click", () => { view.fitted = false; render(); });

document.addEventListener("keydown", (event) => {
  if (event.target instanceof HTMLElement && event.target.matches("input, textarea, select")) return;
  const rel = { ArrowLeft: "prev", ArrowRight: "next" }[event.key];
  if (rel) {
    const link = document.querySelector(`[data-testid=viewer-nav] a[rel=${rel}]`);
    if (link) window.location.assign(link.href);
  } else if (event.key === "+" || event.key === "=") {
    zoomAt(1.25, ...center());
  } else if (event.key === "-") {
    zoomAt(0.8, ...center());
  }
});
window.addEventListener("resize", () => { view.fitted = false; render(); });

picture.onload = render;
picture.src = data.image.url;
render();
