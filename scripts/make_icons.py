"""Draw the Teams app icons (a lifebuoy) into appPackage/: python scripts/make_icons.py [--out DIR].

Pure Python on purpose: the shapes are tested per sample point (supersampled for anti-aliasing) and
the PNGs are written with zlib and struct, so no image library and no downloaded asset is needed.
- color.png: 192x192, opaque; a white and red lifebuoy on the accent colour, the symbol 96x96 in the
  middle as Teams asks.
- outline.png: 32x32; only white pixels, with alpha, on full transparency.
"""

from __future__ import annotations

import argparse
import math
import struct
import zlib
from pathlib import Path
from typing import Callable, Iterable

APP_PACKAGE = Path(__file__).resolve().parents[1] / "appPackage"

ACCENT = (0x0F, 0x6C, 0xBD)  # the manifest's accentColor
WHITE = (0xFF, 0xFF, 0xFF)
RED = (0xD1, 0x34, 0x38)
SAMPLES = 6  # per axis: 36 samples per pixel

RGB = tuple[int, int, int]
Pixel = tuple[int, int, int, int]
# A shader answers the colour at a point (x, y in pixel units, origin top-left), or None for "nothing".
Shader = Callable[[float, float], "RGB | None"]


def _polar(x: float, y: float, cx: float, cy: float) -> tuple[float, float]:
    """Distance from the centre, and the angle folded into one quarter turn measured from a diagonal."""
    dx, dy = x - cx, y - cy
    angle = math.degrees(math.atan2(dy, dx)) % 90.0  # 0..90, the diagonals sit at 45
    return math.hypot(dx, dy), abs(angle - 45.0)


def lifebuoy_color(size: int) -> Shader:
    """The colour icon: a lifebuoy (white ring, four red bands on the diagonals) on the accent colour."""
    c = size / 2
    outer, inner = size * 0.25, size * 0.115  # 96 px across on 192: Teams' symbol area
    band = 22.5  # half the angle of a band, in degrees

    def shade(x: float, y: float) -> RGB:
        r, from_diagonal = _polar(x, y, c, c)
        if inner <= r <= outer:
            return RED if from_diagonal <= band else WHITE
        return ACCENT

    return shade


def lifebuoy_outline(size: int) -> Shader:
    """The outline icon: the ring's two edges plus the four bands, white, nothing else."""
    c = size / 2
    outer, inner = size * 0.45, size * 0.2
    stroke = size / 16  # 2 px on 32
    band = 20.0

    def shade(x: float, y: float) -> RGB | None:
        r, from_diagonal = _polar(x, y, c, c)
        if not inner <= r <= outer:
            return None
        on_edge = r >= outer - stroke or r <= inner + stroke
        return WHITE if on_edge or from_diagonal <= band else None

    return shade


def render(size: int, shader: Shader, samples: int = SAMPLES) -> list[list[Pixel]]:
    """Rows of RGBA pixels: each pixel averages samples x samples points; alpha is their coverage."""
    offsets = [(i + 0.5) / samples for i in range(samples)]
    total = samples * samples
    rows: list[list[Pixel]] = []
    for py in range(size):
        row: list[Pixel] = []
        for px in range(size):
            hit = 0
            r = g = b = 0
            for oy in offsets:
                for ox in offsets:
                    colour = shader(px + ox, py + oy)
                    if colour is not None:
                        hit += 1
                        r += colour[0]
                        g += colour[1]
                        b += colour[2]
            if hit == 0:
                row.append((255, 255, 255, 0))  # white even where invisible: no dark fringe when scaled
            else:
                row.append((round(r / hit), round(g / hit), round(b / hit), round(255 * hit / total)))
        rows.append(row)
    return rows


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(rows: Iterable[Iterable[Pixel]]) -> bytes:
    """An 8-bit RGBA PNG (no interlace, filter 0 on every row)."""
    rows = [list(row) for row in rows]
    height, width = len(rows), len(rows[0])
    raw = bytearray()
    for row in rows:
        if len(row) != width:
            raise ValueError("rows differ in length")
        raw.append(0)
        for pixel in row:
            raw.extend(pixel)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + _chunk(b"IEND", b"")
    )


def icons() -> dict[str, bytes]:
    """File name to PNG bytes for both icons."""
    return {
        "color.png": encode_png(render(192, lifebuoy_color(192))),
        "outline.png": encode_png(render(32, lifebuoy_outline(32))),
    }


def main(argv: list[str] | None = None) -> int:
    """Write color.png and outline.png."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=APP_PACKAGE, help="folder to write to (default: appPackage/)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in icons().items():
        (args.out / name).write_bytes(data)
        print(f"wrote {args.out / name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
