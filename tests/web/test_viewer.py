"""The image viewer, checked by its pixels: every geometry of seed 004's Object (bounding box,
polygon and RLE segmentation, alpha matte, keypoints with their skeleton and names, caption, a
class label) drawn where it belongs in its category's colour; label sets toggled, GT and Pred
side by side, the confidence slider, zoom, pan, next/previous with the gallery's filters, flag."""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from pycocotools import mask as mask_utils
from tests.conftest import Person
from tests.datasets.helpers import add_annotations, new_category, new_dataset, new_label_set
from tests.datasets.helpers import upload as upload_image
from tests.factories import make_png
from tests.web.conftest import SignIn

from visionhub.web.views.viewer import category_color

pytestmark = [pytest.mark.process, pytest.mark.browser]

W, H = 240, 120
BACKGROUND = (40, 40, 40)
Rgb = tuple[int, int, int]


def rle(rows: range, cols: range, *, compressed: bool) -> dict[str, Any]:
    mask = np.zeros((H, W), dtype=np.uint8, order="F")
    mask[rows.start : rows.stop, cols.start : cols.stop] = 1
    encoded = mask_utils.encode(mask)
    if compressed:
        return {"size": [H, W], "counts": encoded["counts"].decode()}
    flat = mask.flatten(order="F")
    counts, value, run = [], 0, 0
    for pixel in flat:
        if pixel == value:
            run += 1
        else:
            counts.append(run)
            value, run = int(pixel), 1
    counts.append(run)
    return {"size": [H, W], "counts": counts}


def matte() -> bytes:
    pixels = np.zeros((H, W), dtype=np.uint8)
    pixels[60:100, 180:230] = 255
    buffer = io.BytesIO()
    Image.fromarray(pixels, "L").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def scene(alice: Person) -> dict[str, Any]:
    """One image holding every geometry of seed 004's Object, then two more images."""
    dataset = new_dataset(alice, "shapes")
    image = upload_image(alice, dataset["id"], make_png(W, H, color=BACKGROUND), "shapes.png")
    others = [
        upload_image(alice, dataset["id"], make_png(W, H, color=(10 * i, 0, 0)), f"o{i}.png")
        for i in range(1, 3)
    ]
    gt = new_label_set(alice, dataset["id"], "gt", "GT")
    pred = new_label_set(alice, dataset["id"], "model", "Pred")
    c = {
        name: new_category(alice, dataset["id"], name, **extra)
        for name, extra in [
            ("box", {}),
            ("polygon", {}),
            ("mask", {}),
            ("packed", {}),
            ("person", {"keypoint_names": ["head", "foot"], "keypoint_skeleton": [[1, 2]]}),
            ("matte", {}),
            ("car", {}),
            ("scene", {}),
        ]
    }
    i = image["id"]
    rows = [
        {
            "image_id": i,
            "label_set_id": gt,
            "category_id": c["box"],
            "bbox": [10, 10, 50, 30],
            "caption": "a box",
        },
        {
            "image_id": i,
            "label_set_id": gt,
            "category_id": c["polygon"],
            "segmentation": [[70, 10, 110, 10, 110, 40, 70, 40]],
        },
        {
            "image_id": i,
            "label_set_id": gt,
            "category_id": c["mask"],
            "segmentation": rle(range(60, 100), range(10, 50), compressed=False),
        },
        {
            "image_id": i,
            "label_set_id": gt,
            "category_id": c["packed"],
            "segmentation": rle(range(60, 100), range(70, 110), compressed=True),
        },
        {
            "image_id": i,
            "label_set_id": gt,
            "category_id": c["person"],
            "keypoints": [140, 20, 2, 140, 100, 2],
        },
        {"image_id": i, "label_set_id": gt, "category_id": c["matte"]},
        {"image_id": i, "label_set_id": gt, "caption": "a grey test card"},
        {
            "image_id": i,
            "label_set_id": pred,
            "category_id": c["car"],
            "conf": 0.3,
            "bbox": [180, 10, 40, 30],
        },
        {"image_id": i, "label_set_id": pred, "category_id": c["scene"], "conf": 0.9},
    ]
    add_annotations(alice, dataset["id"], rows)
    # The other images: only the second one has a car (for next/previous under a filter).
    add_annotations(
        alice,
        dataset["id"],
        [
            {
                "image_id": others[1]["id"],
                "label_set_id": pred,
                "category_id": c["car"],
                "conf": 0.7,
                "bbox": [1, 1, 5, 5],
            }
        ],
    )
    listed = alice.http.get(f"/images/{i}/annotations").json()["items"]
    matte_id = next(a["id"] for a in listed if a["category_id"] == c["matte"])
    uploaded = alice.http.post(
        f"/annotations/{matte_id}/alpha", files={"file": ("m.png", matte(), "image/png")}
    )
    assert uploaded.status_code == 200, uploaded.text
    return {
        **dataset,
        "image": i,
        "others": [o["id"] for o in others],
        "gt": gt,
        "pred": pred,
        "categories": c,
    }


def rgb(hex_color: str) -> Rgb:
    n = int(hex_color[1:], 16)
    return (n >> 16) & 255, (n >> 8) & 255, n & 255


def blend(color: Rgb, over: Rgb = BACKGROUND) -> Rgb:
    r, g, b = (round(0.5 * a + 0.5 * o) for a, o in zip(color, over, strict=True))
    return r, g, b


def colour_of(scene: dict[str, Any], name: str) -> Rgb:
    return rgb(category_color(scene["categories"][name]))


def open_viewer(page: Page, scene: dict[str, Any], query: str = "") -> Page:
    page.goto(f"/images/{scene['image']}/{query}")
    expect(page.locator("body")).to_have_attribute("data-viewer-ready", "yes")
    return page


def pixels_near(
    page: Page, x: float, y: float, *, radius: int = 2, canvas: str = "canvas-main"
) -> list[Rgb]:
    """The colours around image point (x, y) on a canvas, through the view it publishes."""
    values: list[list[int]] = page.evaluate(
        """([id, x, y, r]) => {
            const c = document.getElementById(id);
            const s = Number(c.dataset.scale), ox = Number(c.dataset.offsetX), oy = Number(c.dataset.offsetY);
            const px = Math.round(ox + x * s), py = Math.round(oy + y * s);
            const d = c.getContext('2d').getImageData(px - r, py - r, 2 * r + 1, 2 * r + 1).data;
            const out = [];
            for (let i = 0; i < d.length; i += 4) out.push([d[i], d[i + 1], d[i + 2]]);
            return out;
        }""",
        [canvas, x, y, radius],
    )
    return [(v[0], v[1], v[2]) for v in values]


def close(a: Rgb, b: Rgb, tolerance: int = 14) -> bool:
    return all(abs(p - q) <= tolerance for p, q in zip(a, b, strict=True))


def has(page: Page, x: float, y: float, color: Rgb, **kwargs: Any) -> bool:
    return any(close(p, color) for p in pixels_near(page, x, y, **kwargs))


def is_only(page: Page, x: float, y: float, color: Rgb, **kwargs: Any) -> bool:
    return all(close(p, color) for p in pixels_near(page, x, y, **kwargs))


def test_every_geometry_of_seed_004_is_drawn_in_its_place_and_colour(
    signed_in: SignIn, alice: Person, scene: dict[str, Any]
) -> None:
    page = open_viewer(signed_in(alice), scene)
    box = colour_of(scene, "box")
    # Bounding box: its edges in the category's colour, its inside left as the image.
    assert has(page, 10, 25, box), pixels_near(page, 10, 25)
    assert has(page, 60, 25, box)
    assert is_only(page, 35, 25, BACKGROUND)
    # Polygon: filled half-transparent over the image.
    assert is_only(page, 90, 25, blend(colour_of(scene, "polygon")))
    # RLE masks, uncompressed counts and COCO's compressed string, decoded in the browser.
    assert is_only(page, 30, 80, blend(colour_of(scene, "mask")))
    assert is_only(page, 90, 80, blend(colour_of(scene, "packed")))
    assert is_only(page, 58, 80, BACKGROUND)  # between the two masks
    # Alpha matte: its white region tinted, the black one untouched.
    assert is_only(page, 205, 80, blend(colour_of(scene, "matte")))
    assert is_only(page, 170, 80, BACKGROUND)
    # Keypoints, and the skeleton line between them.
    person = colour_of(scene, "person")
    assert has(page, 140, 20, person)
    assert has(page, 140, 100, person)
    assert has(page, 140, 60, person)
    # Keypoint names are written beside their points (white text on a dark label).
    assert any(min(p) > 180 for p in pixels_near(page, 150, 16, radius=6))
    # Predictions: the car's (dashed) box.
    assert has(page, 180, 25, colour_of(scene, "car"), radius=3)
    # Captions and class labels: listed by the page, written in the corner of the canvas.
    labels = page.get_by_test_id("labels")
    expect(labels).to_contain_text("a grey test card")
    expect(labels).to_contain_text("scene")
    expect(labels).to_contain_text("a box")
    corner: list[int] = page.evaluate(
        "() => Array.from(document.getElementById('canvas-main').getContext('2d').getImageData(8, 8, 1, 1).data)"
    )
    assert corner[:3] != list(BACKGROUND)
    # One colour per category, with its legend.
    legend = page.get_by_test_id("legend")
    for name in ["box", "polygon", "mask", "packed", "person", "matte", "car", "scene"]:
        expect(legend).to_contain_text(name)
        fill = legend.locator("li", has_text=name).locator("rect").get_attribute("fill")
        assert fill == category_color(scene["categories"][name])
    expect(page.get_by_test_id("canvas-main")).to_have_attribute("data-drawn", "9")


def test_label_sets_are_toggled_and_the_slider_hides_weak_predictions(
    signed_in: SignIn, alice: Person, scene: dict[str, Any]
) -> None:
    page = open_viewer(signed_in(alice), scene)
    car = colour_of(scene, "car")
    canvas = page.get_by_test_id("canvas-main")
    page.get_by_role("checkbox", name="gt GT").uncheck()
    assert is_only(page, 10, 25, BACKGROUND)
    assert has(page, 180, 25, car, radius=3)
    expect(canvas).to_have_attribute("data-drawn", "2")
    page.get_by_role("checkbox", name="gt GT").check()
    assert has(page, 10, 25, colour_of(scene, "box"))
    # Drag the slider past the car's confidence (0.3): it goes, the scene label (0.9) stays.
    slider = page.get_by_label("Minimum confidence")
    box = slider.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    value = float(page.locator("#conf-value").inner_text())
    assert 0.3 < value < 0.9
    assert is_only(page, 180, 25, BACKGROUND, radius=3)
    expect(canvas).to_have_attribute("data-drawn", "8")
    slider.fill("0.95")
    expect(canvas).to_have_attribute("data-drawn", "7")


def test_gt_and_pred_side_by_side(signed_in: SignIn, alice: Person, scene: dict[str, Any]) -> None:
    page = open_viewer(signed_in(alice), scene)
    page.get_by_label("side by side").check()
    expect(page.get_by_test_id("canvas-pred")).to_be_visible()
    assert has(page, 10, 25, colour_of(scene, "box"))
    assert not has(page, 180, 25, colour_of(scene, "car"), radius=3)
    assert has(page, 180, 25, colour_of(scene, "car"), radius=3, canvas="canvas-pred")
    assert not has(page, 10, 25, colour_of(scene, "box"), canvas="canvas-pred")
    expect(page.get_by_test_id("canvas-pred")).to_have_attribute("data-drawn", "2")
    page.get_by_label("GT and Pred together").check()
    expect(page.get_by_test_id("canvas-pred")).to_be_hidden()


def test_zoom_and_pan_move_the_drawing_with_the_image(
    signed_in: SignIn, alice: Person, scene: dict[str, Any]
) -> None:
    page = open_viewer(signed_in(alice), scene)
    canvas = page.get_by_test_id("canvas-main")
    scale = float(canvas.get_attribute("data-scale") or 0)
    page.get_by_role("button", name="Zoom in").click()
    assert float(canvas.get_attribute("data-scale") or 0) == pytest.approx(scale * 1.25)
    polygon = blend(colour_of(scene, "polygon"))
    assert is_only(page, 90, 25, polygon)
    x0 = float(canvas.get_attribute("data-offset-x") or 0)
    y0 = float(canvas.get_attribute("data-offset-y") or 0)
    area = canvas.bounding_box()
    assert area is not None
    start = (area["x"] + area["width"] / 2, area["y"] + area["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 60, start[1] + 25, steps=4)
    page.mouse.up()
    assert float(canvas.get_attribute("data-offset-x") or 0) == pytest.approx(x0 + 60)
    assert float(canvas.get_attribute("data-offset-y") or 0) == pytest.approx(y0 + 25)
    assert is_only(page, 90, 25, polygon)
    page.mouse.move(*start)
    page.mouse.wheel(0, -100)
    assert float(canvas.get_attribute("data-scale") or 0) == pytest.approx(scale * 1.25 * 1.25)
    assert is_only(page, 90, 25, polygon)
    page.get_by_role("button", name="Fit").click()
    assert float(canvas.get_attribute("data-scale") or 0) == pytest.approx(scale)


def test_next_and_previous_keep_the_gallerys_filters(
    signed_in: SignIn, alice: Person, scene: dict[str, Any]
) -> None:
    page = signed_in(alice)
    car = scene["categories"]["car"]
    page.goto(f"/datasets/{scene['id']}/?category={car}")
    page.locator("#gallery .tile a").first.click()
    expect(page).to_have_url(re.compile(rf"/images/{scene['image']}/\?category={car}$"))
    expect(page.locator("body")).to_have_attribute("data-viewer-ready", "yes")
    page.keyboard.press("ArrowRight")  # the next image WITH a car skips the one without
    expect(page).to_have_url(re.compile(rf"/images/{scene['others'][1]}/\?category={car}$"))
    expect(page.locator("a[rel=next]")).to_have_count(0)
    page.get_by_role("link", name="Previous").click()
    expect(page).to_have_url(re.compile(rf"/images/{scene['image']}/\?category={car}$"))
    page.get_by_role("link", name="Gallery").click()
    expect(page).to_have_url(re.compile(rf"/datasets/{scene['id']}/\?category={car}$"))


def test_the_viewer_shows_metadata_and_flags_the_image(
    signed_in: SignIn, alice: Person, scene: dict[str, Any]
) -> None:
    page = open_viewer(signed_in(alice), scene)
    meta = page.get_by_test_id("metadata")
    expect(meta).to_contain_text(f"{W} \N{MULTIPLICATION SIGN} {H} px")
    expect(meta).to_contain_text("PNG")
    page.get_by_role("button", name="✓ Flag 1").click()
    expect(page.get_by_test_id("flag")).to_have_text("1 (positive)")
    assert alice.http.get(f"/images/{scene['image']}").json()["flag"] == 1
    page.get_by_role("button", name="Clear").click()
    expect(page.get_by_test_id("flag")).to_have_text("0")


def test_the_full_image_is_never_loaded_by_the_gallery(
    signed_in: SignIn, alice: Person, scene: dict[str, Any]
) -> None:
    page = signed_in(alice)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(f"/datasets/{scene['id']}/")
    page.wait_for_load_state("networkidle")
    assert any(u.endswith("/thumbnail") for u in asked)
    assert not any(u.endswith("/content") for u in asked)


def test_a_stranger_gets_the_404_page(
    signed_in: SignIn, charlie: Person, scene: dict[str, Any]
) -> None:
    page = signed_in(charlie)
    for path in [f"/images/{scene['image']}/", f"/images/{scene['image']}/content"]:
        response = page.goto(path)
        assert response is not None and response.status == 404, path
