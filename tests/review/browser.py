"""A real headless browser (Debian's `chromium`) for the review page: the DOM after rendering, a screenshot,
and the screenshot's pixels (PNG decoded with the standard library)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-dev-shm-usage"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not installed: `make browser` (or `make test`) installs it "
                    "(apt-get update && apt-get install -y chromium)", pytrace=False)
    return found


def _run(args: list[str], tmp: Path) -> str:
    done = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={tmp / 'chromium-profile'}", *args],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def dump_dom(page: Path, tmp: Path) -> str:
    return _run(["--dump-dom", page.resolve().as_uri()], tmp)


def screenshot(page: Path, out: Path, tmp: Path, width: int = 1500, height: int = 1100) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    _run([f"--screenshot={out}", f"--window-size={width},{height}", page.resolve().as_uri()], tmp)
    assert out.is_file()
    return out


class Elements(HTMLParser):
    """Attributes of every element, by class name."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.by_class: dict[str, list[dict[str, str]]] = {}
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        for cls in values.get("class", "").split():
            self.by_class.setdefault(cls, []).append(values)


def png_pixels(path: Path) -> tuple[int, int, list[bytes], int]:
    """Width, height, rows of raw pixels, bytes per pixel of an 8-bit RGB/RGBA PNG (what chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    height = bpp = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows = zlib.decompress(idat), width * bpp, []
    prev = bytearray(stride)
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


def count_colour(path: Path, rgb: str, tolerance: int = 24) -> int:
    """How many pixels of the screenshot are within `tolerance` of the colour `#rrggbb`."""
    want = bytes.fromhex(rgb.lstrip("#"))
    _, _, rows, bpp = png_pixels(path)
    n = 0
    for row in rows:
        for i in range(0, len(row), bpp):
            if all(abs(row[i + k] - want[k]) <= tolerance for k in range(3)):
                n += 1
    return n
