"""Benchmark: REM import per layout, justification documents, bundle. Prints numbers (seconds).

    python bench/rem_and_justify.py [--rem-dir ../shared/rem] [--repeat 3]

Each figure is the median of ``--repeat`` runs on this machine; nothing is asserted.
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    default_rem = next((p for p in (ROOT.parent / "shared" / "rem", ROOT.parent.parent / "shared" / "rem")
                        if p.is_dir()), ROOT.parent / "shared" / "rem")
    ap.add_argument("--rem-dir", type=Path, default=default_rem)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from segur_helpers.catalog.rem import import_rem

    for name in ("template-export-convergence.xlsx", "template-segur-requirement-export.xlsx",
                 "import_squash_update_com.xlsx", "export_full.xlsx"):
        path = args.rem_dir / name
        if not path.is_file():
            print(f"import {name}: skipped (not found in {args.rem_dir})")
            continue
        project = "HOP-DPI" if name in ("import_squash_update_com.xlsx", "export_full.xlsx") else None
        rem = import_rem(path, project)  # a Squash workbook holds several REM projects: one is imported
        t = median_time(lambda: import_rem(path, project), args.repeat)
        print(f"import {name}: {t:.3f} s ({len(rem)} requirements, {path.stat().st_size / 1e6:.2f} MB, {rem.layout})")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copytree(ROOT / "params" / "justification", tmp / "justification")
        params = Path(shutil.copy(ROOT / "params" / "demo-justification.yaml", tmp / "campaign.yaml"))

        from playwright.async_api import async_playwright

        from segur_helpers import catalog
        from segur_helpers.browser import launch
        from segur_helpers.justify import copy_attachments, justification_info, write_docx, write_pdf
        from segur_helpers.params import load_campaign

        campaign = load_campaign(params)
        req = catalog.get("SSI/IE.31")

        async def docs() -> tuple[float, float]:
            async with async_playwright() as pw:
                browser = await launch(pw)
                pdf_t, docx_t = [], []
                for i in range(args.repeat):
                    folder = tmp / f"docs{i}"
                    folder.mkdir()
                    info = justification_info(campaign, req, req.scenarios[0], "bench",
                                              copy_attachments(campaign, req.id, folder / "attachments"))
                    t0 = time.perf_counter()
                    await write_pdf(browser, info, folder / "j.pdf")
                    pdf_t.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    write_docx(info, folder / "j.docx")
                    docx_t.append(time.perf_counter() - t0)
                await browser.close()
                return statistics.median(pdf_t), statistics.median(docx_t)

        pdf_s, docx_s = asyncio.run(docs())
        print(f"justification PDF (running Chromium): {pdf_s:.3f} s; DOCX: {docx_s:.3f} s")

        cli = [sys.executable, "-m", "segur_helpers.cli"]
        out = tmp / "outputs"
        t = median_time(lambda: subprocess.run([*cli, "run", str(params), "--outputs", str(out)], check=True,
                                               capture_output=True, cwd=ROOT), args.repeat)
        print(f"segur run demo-justification (CLI, Chromium start included): {t:.3f} s")
        runs = sorted((out / "demo-justification").iterdir())
        counter = iter(range(10_000))
        t = median_time(lambda: subprocess.run([*cli, "bundle", str(runs[0]), "--out", str(tmp / f"b{next(counter)}")],
                                               check=True, capture_output=True, cwd=ROOT), args.repeat)
        print(f"segur bundle (CLI, 1 chapter, 6 files): {t:.3f} s")
        t = median_time(lambda: subprocess.run([*cli, "justify", "--check", str(params)], check=True,
                                               capture_output=True, cwd=ROOT), args.repeat)
        print(f"segur justify --check (CLI): {t:.3f} s")


if __name__ == "__main__":
    main()
