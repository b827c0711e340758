"""Draw the field app's PWA icons (committed under static/civicgrid/img/; rerun to change them)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext_lazy
from PIL import Image, ImageDraw

from civicgrid.core.management.base import TranslatedCommand

OUT = Path(settings.BASE_DIR) / "civicgrid" / "static" / "civicgrid" / "img"
TOP, BOTTOM = (59, 140, 255), (12, 74, 166)


def draw(size: int, *, maskable: bool = False) -> Image.Image:
    scale = 4  # draw large, then downsample: smooth edges without an anti-aliasing library
    n = size * scale
    grad = Image.new("RGB", (1, n))
    for y in range(n):
        t = y / (n - 1)
        grad.putpixel(
            (0, y), tuple(round(a + (b - a) * t) for a, b in zip(TOP, BOTTOM, strict=True))
        )
    img = grad.resize((n, n))
    mask = Image.new("L", (n, n), 0)
    md = ImageDraw.Draw(mask)
    if maskable:
        md.rectangle([0, 0, n, n], fill=255)
    else:
        md.rounded_rectangle([0, 0, n - 1, n - 1], radius=int(n * 0.22), fill=255)
    out = Image.new("RGBA", (n, n), (0, 0, 0, 0))
    out.paste(img, (0, 0), mask)
    d = ImageDraw.Draw(out)
    # A 3×3 grid of tiles with one highlighted cell and a location pin: "the grid, here".
    inner = 0.56 if maskable else 0.64
    side = n * inner
    x0 = (n - side) / 2
    y0 = (n - side) / 2 + n * 0.02
    gap = side * 0.07
    cell = (side - 2 * gap) / 3
    for r in range(3):
        for c in range(3):
            x = x0 + c * (cell + gap)
            y = y0 + r * (cell + gap)
            fill = (255, 255, 255, 255) if (r, c) != (1, 1) else (255, 138, 61, 255)
            alpha = 235 if (r + c) % 2 == 0 else 170
            if (r, c) != (1, 1):
                fill = (255, 255, 255, alpha)
            d.rounded_rectangle([x, y, x + cell, y + cell], radius=cell * 0.22, fill=fill)
    # pin on the centre cell
    cx, cy = x0 + 1.5 * cell + gap, y0 + 1.5 * cell + gap - cell * 0.08
    pr = cell * 0.26
    d.ellipse([cx - pr, cy - pr, cx + pr, cy + pr], fill=(255, 255, 255, 255))
    d.polygon(
        [(cx - pr * 0.8, cy + pr * 0.5), (cx + pr * 0.8, cy + pr * 0.5), (cx, cy + pr * 1.9)],
        fill=(255, 255, 255, 255),
    )
    d.ellipse(
        [cx - pr * 0.4, cy - pr * 0.4, cx + pr * 0.4, cy + pr * 0.4], fill=(255, 138, 61, 255)
    )
    return out.resize((size, size), Image.LANCZOS)


class Command(TranslatedCommand):
    help = gettext_lazy("Draw the field app's PWA icons into civicgrid/static/civicgrid/img/.")

    def handle(self, *args, **options):
        OUT.mkdir(parents=True, exist_ok=True)
        for name, size, maskable in [
            ("field-icon-192.png", 192, False),
            ("field-icon-512.png", 512, False),
            ("field-icon-maskable-512.png", 512, True),
            ("field-icon-180.png", 180, True),  # apple-touch-icon: iOS rounds it itself
        ]:
            path = OUT / name
            draw(size, maskable=maskable).save(path, optimize=True)
            self.stdout.write(f"{path} ({path.stat().st_size} bytes)")
