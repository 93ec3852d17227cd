"""The CPU a proof's HTML costs in the ``segur run`` process, before Chromium prints it (numbers printed, never
asserted):

    .venv/bin/python -m bench.export [RUN_FOLDER] [--repeat 3]

RUN_FOLDER is a finished run (default: the newest under ``outputs/demo/``, which ``make demo`` leaves). For
each of its notebook proofs the HTML is built as the batch builds it (notebook read, nbconvert, screenshots
reduced for print), in one thread, twice in the same command:

1. baseline: a new nbconvert exporter for every proof and the palette chosen over every pixel (the toolkit
   until 2026-12-04);
2. now: one exporter per thread, the palette chosen on every 4th row.

Printed: seconds per proof for each (best of ``--repeat``), their ratio, and whether the text of the HTML is
the same (it must be: only the printed pictures' palettes may differ).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _proofs(run: Path) -> list[Path]:
    return [p for p in sorted(run.iterdir()) if (p / "notebook.ipynb").is_file() and (p / "result.json").is_file()]


def _build_all(proofs: list[Path], *, baseline: bool) -> tuple[float, list[str]]:
    import nbformat

    from segur_helpers import export, printimages

    sample = printimages.SAMPLE_ROWS
    exporter = export._exporter
    if baseline:
        printimages.SAMPLE_ROWS = 1
        export._exporter = export._new_exporter
    try:
        t0 = time.perf_counter()
        out = []
        for proof in proofs:
            nb = nbformat.read(str(proof / "notebook.ipynb"), as_version=4)
            result = json.loads((proof / "result.json").read_text(encoding="utf-8"))
            out.append(printimages.compact_screenshots(export.proof_html(nb, result, "0" * 64)))
        return time.perf_counter() - t0, out
    finally:
        printimages.SAMPLE_ROWS = sample
        export._exporter = exporter


def _text(html: str) -> str:
    return re.sub(r'src="data:image/png;base64,[^"]*"', 'src=""', html)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__.split("\n\n")[0])
    ap.add_argument("run", nargs="?", type=Path, help="a finished run folder (default: newest outputs/demo/*)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    run = args.run or max((p for p in (ROOT / "outputs" / "demo").glob("*") if (p / "run.json").is_file()),
                          key=lambda p: p.stat().st_mtime, default=None)
    if run is None:
        print("bench.export: no run under outputs/demo/: expected a finished run (make demo makes one)",
              file=sys.stderr)
        return 2
    proofs = _proofs(run) if run.is_dir() else []
    if not proofs:
        print(f"bench.export: {run}: expected a run folder holding notebook proofs", file=sys.stderr)
        return 2
    _build_all(proofs[:1], baseline=False)           # imports and first compilation out of the figures
    best = {}
    texts = {}
    for _ in range(args.repeat):
        for baseline in (True, False):
            seconds, html = _build_all(proofs, baseline=baseline)
            best[baseline] = min(best.get(baseline, seconds), seconds)
            texts[baseline] = [_text(h) for h in html]
    shots = sum(len(re.findall(r'class="shot', h)) for h in texts[False])
    n = len(proofs)
    print(f"run: {run} ({n} notebook proofs, {shots} printed screenshots or slices)")
    print(f"baseline (new exporter per proof, palette over every pixel): {best[True] / n:.3f} s per proof")
    print(f"now (one exporter per thread, palette on every 4th row):       {best[False] / n:.3f} s per proof")
    print(f"ratio now / baseline: {best[False] / best[True]:.2f}")
    print(f"HTML text identical apart from pictures: {texts[True] == texts[False]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
