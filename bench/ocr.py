"""The two OCR engines side by side: RapidOCR (the default, installed with scanserve) and
Tesseract (the operating system's program), on the same ingredient panels.

    python bench/ocr.py [--rounds 3]

The panels are drawn here with Pillow, their text known: clean print at five sizes, two
tilted panels, two blurred ones, a noisy one, a low-contrast one on a coloured ground, a
heavily compressed JPEG, and a photo-sized one (3000 px). Each engine runs in a child process
of its own (so each peak RSS is its own) and reads every panel ``--rounds`` times; the figures are

- characters right: 1 - (edit distance / length) between the cleaned ingredients the
  extractor proposes and the panel's list, over all panels;
- seconds per photo (the median over rounds and panels) and the first photo's seconds (the
  engine's load included);
- peak RSS of the process (MB), the engine loaded and every panel read.

A machine without Tesseract prints its row as missing. Figures, never pass/fail; on a shared
machine compare the two rows of one run.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time

from PIL import Image, ImageDraw, ImageFilter, ImageFont

LIST = (
    "Water, sugar, oat flour (12%), sunflower oil, acidity regulator (dipotassium phosphate), "
    "calcium carbonate, sea salt, vitamins (D2, B12)."
)
PANEL_LINES = [
    "INGREDIENTS: Water, sugar, oat flour (12%),",
    "sunflower oil, acidity regulator (dipotassium",
    "phosphate), calcium carbonate, sea salt,",
    "vitamins (D2, B12).",
    "Store in a cool, dry place.",
]


def _draw(size: int, width: int, ground: str = "white", ink: str = "black") -> Image.Image:
    font = ImageFont.truetype("DejaVuSans.ttf", size)
    image = Image.new("RGB", (width, 40 + int(size * 2.1) * len(PANEL_LINES)), ground)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(PANEL_LINES):
        draw.text((30, 20 + i * int(size * 2.1)), line, fill=ink, font=font)
    return image


def panels() -> dict[str, bytes]:
    made = {
        "small print (20 px)": _draw(20, 700),
        "print (32 px)": _draw(32, 1100),
        "large print (48 px)": _draw(48, 1600),
        "tilted 3 degrees": _draw(32, 1100).rotate(3, expand=True, fillcolor="white"),
        "blurred": _draw(32, 1100).filter(ImageFilter.GaussianBlur(1.6)),
        "low contrast on beige": _draw(32, 1100, ground="#e8dcc0", ink="#6b6255"),
        "photo-sized (3000 px)": _draw(80, 3000),
        "tiny print (13 px)": _draw(13, 480),
        "tiny print (10 px)": _draw(10, 380),
        "tilted 8 degrees": _draw(32, 1100).rotate(8, expand=True, fillcolor="white"),
        "blurred hard": _draw(32, 1100).filter(ImageFilter.GaussianBlur(2.6)),
        "noisy": _noisy(_draw(28, 1000)),
    }
    out = {}
    for name, image in made.items():
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        out[name] = buffer.getvalue()
    # a phone's heavy JPEG compression
    buffer = io.BytesIO()
    _draw(24, 850).save(buffer, format="JPEG", quality=12)
    out["JPEG quality 12"] = buffer.getvalue()
    return out


def _noisy(image: Image.Image) -> Image.Image:
    noise = Image.effect_noise(image.size, 60).convert("RGB")
    return Image.blend(image, noise, 0.35)


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def child(engine: str, rounds: int) -> None:
    """Runs in the child process: one engine, every panel, JSON on stdout."""
    from scanserve.plugins.builtin.ocr import TesseractExtractor, clean_ingredients
    from scanserve.plugins.builtin.rapid_ocr import RapidOcrExtractor

    extractor = RapidOcrExtractor() if engine == "rapidocr" else TesseractExtractor()
    results = {}
    first = None
    for name, data in panels().items():
        seconds = []
        text = ""
        for _ in range(rounds):
            started = time.perf_counter()
            read = extractor.read(data)
            seconds.append(time.perf_counter() - started)
            text = clean_ingredients(read.lines, require_label=True)
        if first is None:
            first = seconds[0]
        results[name] = {"seconds": seconds, "text": text}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"panels": results, "first": first, "rss": max(peak, rss_children)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=["rapidocr", "tesseract"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rounds)
        return

    print(f"{'engine':<10} {'chars right':>11} {'s/photo':>8} {'first s':>8} {'peak MB':>8}")
    worst: dict[str, list[str]] = {}
    for engine in ("rapidocr", "tesseract"):
        if engine == "tesseract" and shutil.which("tesseract") is None:
            print(f"{engine:<10} (not installed)")
            continue
        done = subprocess.run(
            [sys.executable, __file__, "--child", engine, "--rounds", str(args.rounds)],
            capture_output=True,
            text=True,
            check=True,
        )
        report = json.loads(done.stdout.strip().splitlines()[-1])
        errors = length = 0
        times = []
        for name, panel in report["panels"].items():
            errors += _distance(panel["text"], LIST)
            length += len(LIST)
            times += panel["seconds"][1:] if len(panel["seconds"]) > 1 else panel["seconds"]
            if panel["text"] != LIST:
                worst.setdefault(engine, []).append(f"{name}: {panel['text']!r}")
        right = 1 - errors / length
        print(
            f"{engine:<10} {right:>11.1%} {statistics.median(times):>8.2f} "
            f"{report['first']:>8.2f} {report['rss']:>8.0f}"
        )
    for engine, misses in worst.items():
        print(f"\n{engine} read differently:")
        for miss in misses:
            print(f"  {miss}")


if __name__ == "__main__":
    main()
