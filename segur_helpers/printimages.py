"""Screenshots made fit for print: fewer colours inside the PDF, tall pages cut into page-sized slices.

The evidence files keep the original PNG (their SHA-256 is in the annex); only the picture printed in
the PDF is re-encoded. Chromium decodes a PNG and deflates its raw pixels into the PDF, so five
full-page screenshots of a table made a 2 MB proof; JPEG is worse on text (blurred, and larger). A
screenshot of a user interface has few colours: reduced to a palette of 15 colours plus the red of
the examined element's outline, without dithering, its text stays sharp and it deflates to about half.
A full-page screenshot taller than a page used to be shrunk to the page's height, its text unreadably
small; it is now printed at the full text width, cut into slices that each fit a page.
"""
from __future__ import annotations

import base64
import io
import re

# nbconvert's sanitiser reorders attributes: alt may come before or after class and src
SHOT = re.compile(r'<img (alt="[^"]*" )?class="shot" src="data:image/png;base64,([A-Za-z0-9+/=\s]+)"( alt="[^"]*")?\s*/?>')
SLICE_PX = 1500            # at 1280 px across 182 mm, 1500 px is about 213 mm of a 261 mm high text area
COLOURS = 15
SAMPLE_ROWS = 4            # the palette is chosen on one row in SAMPLE_ROWS
OUTLINE_RGB = (0xE3, 0x00, 0x1B)   # evidence.py outlines the examined element in #e3001b

PRINT_CSS = """
.segur-card img.shot-slice { display: block; width: 100%; max-width: 100%; height: auto; margin: 0 0 1mm 0;
                             break-inside: avoid; border: 1px solid #d5dde5; }
.segur-card .slice-note { font-size: 8pt; color: #4a5a6a; }
"""


def _reduce(img):
    """The picture on a palette of its main colours plus the outline red (no dithering: sharp text).

    The main colours are chosen on every 4th row: median cut over every pixel of a full-page screenshot
    took 0.05 s per million pixels, most of a proof's export. Measured on the demo campaign's 97
    screenshots and on the benchmark's figure 4 (December 2026): every 4th row halves that time with the
    same mean error (3.1 of 255 per channel against the original) and a PDF as small (982 against 991 kB);
    one pixel in 16 was 15 times faster but its PDF grew 8 % (1.07 MB, over figure 4's 1 MB); a 4 × 4
    average lost the black of thin text (printed dark blue). Every pixel is still mapped to the palette."""
    from PIL import Image

    rgb = img.convert("RGB")
    w, h = rgb.size
    sample = rgb.resize((w, h // SAMPLE_ROWS), Image.Resampling.NEAREST) if h >= 8 * SAMPLE_ROWS else rgb
    main = sample.quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    colours = main.getpalette()[: 3 * COLOURS] + list(OUTLINE_RGB)
    palette = Image.new("P", (1, 1))
    palette.putpalette(colours + colours[:3] * (256 - len(colours) // 3))
    return rgb.quantize(palette=palette, dither=Image.Dither.NONE)


def _png(img) -> str:
    """The picture for Chromium only: Chromium decodes it and deflates the pixels into the PDF itself,
    so a stronger compression here costs time and changes nothing in the proof (measured on the demo
    campaign's 69 screenshots: optimize=True spent 1.8 s more CPU for the same PDF sizes)."""
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return base64.b64encode(buf.getvalue()).decode()


def _replace(match: re.Match) -> str:
    from PIL import Image

    alt = " " + (match.group(1) or match.group(3) or "").strip()
    try:
        img = Image.open(io.BytesIO(base64.b64decode(match.group(2))))
        img.load()
    except Exception:  # noqa: BLE001 — not a picture we can read: print it as it was
        return match.group(0)
    w, h = img.size
    img = _reduce(img)
    if h <= SLICE_PX:
        return f'<img class="shot" src="data:image/png;base64,{_png(img)}"{alt}>'
    parts = []
    n = -(-h // SLICE_PX)
    for i in range(n):
        box = (0, i * SLICE_PX, w, min(h, (i + 1) * SLICE_PX))
        parts.append(f'<img class="shot-slice" src="data:image/png;base64,{_png(img.crop(box))}"{alt}>')
    note = (f'<div class="slice-note">Capture pleine page ({w} × {h} pixels) imprimée en {n} parties '
            f'successives, à la largeur du texte.</div>')
    return note + "".join(parts)


def compact_screenshots(html_text: str) -> str:
    """The proof's HTML with its inline screenshots reduced for print (slices for tall ones)."""
    return SHOT.sub(_replace, html_text).replace("</style>", PRINT_CSS + "</style>", 1)
