// Drawing a label's annotations over an image: an SVG whose viewBox is the image's pixel grid,
// laid exactly over the <img>, so that SVG coordinates are image coordinates.
const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
  "#bfef45", "#fabed4", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3", "#000075"];

export function colour(category, categories) {
  const i = categories.indexOf(category);
  return i < 0 ? "#ffffff" : PALETTE[i % PALETTE.length];
}

export function element(name, attributes = {}) {
  const made = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) made.setAttribute(key, String(value));
  return made;
}

// Size the overlay to the image as shown, with the image's own pixels as its coordinates.
export function fitOverlay(image, svg, width, height) {
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const place = () => {
    svg.setAttribute("width", String(image.clientWidth));
    svg.setAttribute("height", String(image.clientHeight));
  };
  place();
  new ResizeObserver(place).observe(image);
}

// The image pixel under a mouse event.
export function imagePoint(svg, event) {
  const point = svg.createSVGPoint();
  point.x = event.clientX;
  point.y = event.clientY;
  const inside = point.matrixTransform(svg.getScreenCTM().inverse());
  return { x: inside.x, y: inside.y };
}

// One annotation's shapes; ``strokeWidth`` in image pixels; ``skeleton``: COCO's pairs of
// 1-based keypoint numbers of the annotation's category.
export function shapesOf(annotation, categories, strokeWidth, skeleton = null) {
  const stroke = colour(annotation.category, categories);
  const common = { stroke, "stroke-width": strokeWidth, fill: stroke, "fill-opacity": 0.15 };
  const shapes = [];
  if (annotation.bbox) {
    const [x, y, w, h] = annotation.bbox;
    shapes.push(element("rect", { ...common, x, y, width: w, height: h }));
  }
  if (Array.isArray(annotation.segmentation)) {
    for (const polygon of annotation.segmentation) {
      const points = [];
      for (let i = 0; i + 1 < polygon.length; i += 2) points.push(`${polygon[i]},${polygon[i + 1]}`);
      shapes.push(element("polygon", { ...common, points: points.join(" ") }));
    }
  }
  if (Array.isArray(annotation.keypoints)) {
    const k = annotation.keypoints;
    for (const [a, b] of skeleton ?? []) {
      const i = 3 * (a - 1), j = 3 * (b - 1);
      if (k[i + 2] > 0 && k[j + 2] > 0) {
        shapes.push(element("line", { x1: k[i], y1: k[i + 1], x2: k[j], y2: k[j + 1], stroke,
          "stroke-width": strokeWidth }));
      }
    }
    for (let i = 0; i + 2 < annotation.keypoints.length; i += 3) {
      if (annotation.keypoints[i + 2] > 0) {
        shapes.push(element("circle", { cx: annotation.keypoints[i], cy: annotation.keypoints[i + 1],
          r: strokeWidth * 2, fill: stroke }));
      }
    }
  }
  return shapes;
}

export function strokeFor(width, height) {
  return Math.max(width, height) / 300;
}
