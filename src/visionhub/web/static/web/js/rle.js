// COCO run-length masks: the compressed string of pycocotools (rleFrString), decoded in the
// browser, and a mask painted into RGBA pixels. Runs are column-major, starting with zeros.

export function decodeCounts(text) {
  const counts = [];
  let pos = 0;
  while (pos < text.length) {
    let value = 0;
    let shift = 0;
    let more = true;
    while (more) {
      const c = text.charCodeAt(pos) - 48;
      value |= (c & 0x1f) << shift;
      more = (c & 0x20) !== 0;
      pos += 1;
      shift += 5;
      if (!more && (c & 0x10)) value |= -1 << shift;
    }
    if (counts.length > 2) value += counts[counts.length - 2];
    counts.push(value);
  }
  return counts;
}

// An ImageData of the mask's size, `rgba` where the mask is set, transparent elsewhere.
export function maskImage(rle, rgba) {
  const [height, width] = rle.size;
  const counts = typeof rle.counts === "string" ? decodeCounts(rle.counts) : rle.counts;
  const pixels = new ImageData(width, height);
  const out = pixels.data;
  let index = 0;
  counts.forEach((run, i) => {
    if (i % 2 === 1) {
      for (let k = index; k < index + run; k += 1) {
        const row = k % height;
        const col = (k - row) / height;
        const at = (row * width + col) * 4;
        out[at] = rgba[0]; out[at + 1] = rgba[1]; out[at + 2] = rgba[2]; out[at + 3] = rgba[3];
      }
    }
    index += run;
  });
  return pixels;
}
