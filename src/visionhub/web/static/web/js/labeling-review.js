// The review workspace: every labeler's label drawn over the image (one colour per category);
// A accepts and R rejects the first label still waiting for this reviewer's verdict.
import { fitOverlay, shapesOf, strokeFor } from "./labeling-draw.js";

const data = JSON.parse(document.getElementById("ws-data").textContent);
const image = document.getElementById("ws-image");
const svg = document.getElementById("ws-overlay");
const stroke = strokeFor(data.image.width, data.image.height);

function start() {
  fitOverlay(image, svg, data.image.width, data.image.height);
  for (const label of data.labels) {
    for (const annotation of label.annotations) {
      const skeleton = data.keypoints[annotation.category]?.skeleton;
      svg.append(...shapesOf(annotation, data.categories, stroke, skeleton));
    }
  }
  document.getElementById("ws").dataset.ready = "true";
}
if (image.complete) start(); else image.addEventListener("load", start);

document.addEventListener("keydown", (event) => {
  if (event.target instanceof HTMLInputElement) return;
  const form = document.querySelector("form.review-form");
  if (!form) {
    if (event.key === "n") document.getElementById("ws-next")?.click();
    return;
  }
  const action = { a: "accept", r: "reject" }[event.key];
  if (action) form.querySelector(`button[value=${action}]`).click();
});
if (data.next_image_url) new Image().src = data.next_image_url;
