// The gallery: keyboard navigation (arrows, Enter opens, Space selects, 0/1/2 flag) and flagging
// one image or a selection without reloading the page.
import { postForm } from "./csrf.js";

const grid = document.getElementById("gallery");
const form = document.getElementById("flag-form");
const tiles = grid ? Array.from(grid.querySelectorAll(".tile")) : [];
let focused = -1;

function columns() {
  if (tiles.length === 0) return 1;
  const top = tiles[0].offsetTop;
  const n = tiles.findIndex((t) => t.offsetTop !== top);
  return n === -1 ? tiles.length : n;
}

function focusTile(index) {
  if (tiles.length === 0) return;
  focused = Math.max(0, Math.min(tiles.length - 1, index));
  tiles.forEach((t, i) => t.classList.toggle("focused", i === focused));
  tiles[focused].focus({ preventScroll: false });
  tiles[focused].scrollIntoView({ block: "nearest" });
}

function follow(rel) {
  const link = document.querySelector(`.pager a[rel=${rel}]`);
  if (link) window.location.assign(link.href);
}

function selected() {
  return tiles.filter((t) => t.querySelector("input.select:checked"));
}

function showSelection() {
  const chosen = selected();
  tiles.forEach((t) => t.classList.toggle("selected", chosen.includes(t)));
  const count = document.getElementById("selected-count");
  if (count) count.textContent = String(chosen.length);
}

async function flag(targets, value) {
  if (!form || targets.length === 0) return;
  const fields = [["flag", String(value)], ...targets.map((t) => ["image_ids", t.dataset.imageId])];
  await postForm(form.action, fields);
  for (const tile of targets) {
    tile.classList.remove("flag-0", "flag-1", "flag-2");
    tile.classList.add(`flag-${value}`);
    tile.dataset.flag = String(value);
    const mark = tile.querySelector(".flag-mark");
    if (mark) mark.setAttribute("aria-label", `flag ${value}`);
  }
}

function typing(target) {
  return target instanceof HTMLElement && target.matches("input:not(.select), select, textarea");
}

document.addEventListener("keydown", (event) => {
  if (tiles.length === 0 || typing(event.target) || event.altKey || event.ctrlKey || event.metaKey) return;
  const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(), ArrowUp: -columns() }[event.key];
  if (step !== undefined) {
    event.preventDefault();
    if (focused === -1) return focusTile(0);
    const target = focused + step;
    if (target >= tiles.length && step > 0) return follow("next");
    if (target < 0 && step < 0) return follow("prev");
    return focusTile(target);
  }
  if (focused === -1) return;
  const tile = tiles[focused];
  if (event.key === "Enter") {
    event.preventDefault();
    window.location.assign(tile.querySelector("a").href);
  } else if (event.key === " ") {
    const box = tile.querySelector("input.select");
    if (box) {
      event.preventDefault();
      box.checked = !box.checked;
      showSelection();
    }
  } else if (["0", "1", "2"].includes(event.key)) {
    const chosen = selected();
    flag(chosen.length ? chosen : [tile], Number(event.key));
  }
});

tiles.forEach((tile, index) => tile.addEventListener("click", (event) => {
  if (!(event.target instanceof HTMLInputElement)) focusTile(index);
}));
grid?.addEventListener("change", showSelection);

form?.addEventListener("submit", (event) => {
  event.preventDefault();
  const value = event.submitter ? event.submitter.value : "0";
  flag(selected(), Number(value)).then(showSelection);
});
