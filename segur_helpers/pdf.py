"""HTML → A4 PDF with the system Chromium (``page.pdf()``): header, footer, page X/Y.

Used by the proof export and by any other document the toolkit prints (justifications, summaries).
No LaTeX, no ``nbconvert --to webpdf`` (it cannot be pointed at a system Chromium and prints Letter).
"""
from __future__ import annotations

import html
from pathlib import Path

_BAND = (
    '<div style="font-family: DejaVu Sans, Arial, sans-serif; font-size: 7.5pt; color: #555;'
    ' width: 100%; margin: 0 12mm; display: flex; justify-content: space-between;">'
    "<span>{left}</span><span>{right}</span></div>"
)
PAGE_X_OF_Y = 'page <span class="pageNumber"></span>/<span class="totalPages"></span>'


def band(left: str, right: str = "", *, page_numbers: bool = False) -> str:
    """A header/footer band for Chromium; ``page_numbers`` puts 'page X/Y' on the right."""
    right_html = html.escape(right)
    if page_numbers:
        right_html = (right_html + " — " if right_html else "") + PAGE_X_OF_Y
    return _BAND.format(left=html.escape(left), right=right_html)


async def html_to_pdf(browser, html_text: str, out: Path, *, header: str, footer: str,
                      base_url: str | None = None) -> Path:
    """Print ``html_text`` to ``out`` (A4) in a fresh context of an already running ``browser``.

    ``header``/``footer`` are bands made with :func:`band`. The file is written atomically
    (temporary name, then rename) so a crash never leaves a truncated PDF under the final name.
    """
    out = Path(out)
    context = await browser.new_context()
    try:
        page = await context.new_page()
        if base_url:
            await page.goto(base_url)
        await page.set_content(html_text, wait_until="load")
        await page.emulate_media(media="print")
        tmp = out.with_name(out.name + ".tmp")
        await page.pdf(
            path=str(tmp),
            format="A4",
            print_background=True,
            display_header_footer=True,
            header_template=header,
            footer_template=footer,
            margin={"top": "18mm", "bottom": "18mm", "left": "14mm", "right": "14mm"},
        )
        tmp.replace(out)
        return out
    finally:
        await context.close()
