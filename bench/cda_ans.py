"""Benchmark: ANS's CDA validation, compiled schematron made anew against taken from the cache.

    .venv/bin/python -m bench.cda_ans [--checkout ../shared/cda/TestContenuCDA-3-0] [--repeat 3]

(default checkout: ``shared/cda/TestContenuCDA-3-0`` beside the checkout or beside its parent folder)

Each figure is the median of ``--repeat`` runs, each in a fresh Python process (what a new kernel
pays), all in this one command; nothing is asserted:

* cold: an empty cache folder; the pipeline (include, abstract expand, compile to XSLT), then Saxon's
  compilation of the compiled XSLT, then the run on the demo DPI's letter;
* cached: the same cache folder again; the pipeline is skipped, Saxon still compiles the stylesheet
  once in the process, then the run;
* warm: a second document validated in the same process (a warm kernel's next proof): the run only.

The ratio cached / cold is printed against the cold run of the same command.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from datetime import datetime, timezone
t0 = time.perf_counter()
from segur_helpers import cda_ans
from demo_dpi.cda_gen import DOC_TYPES, build_cda, document_pdf
patient = {"ins": "280052A00401271", "ipp": "1", "nom": "SEGURTEST", "prenom": "Camille", "birth_date": "19800512",
           "sex": "F"}
doc = {"uuid": "1.2.250.1.999.1.2.3.1", "title": "t", "content": "x", "author_nom": "A", "author_prenom": "B",
       "author_rpps": "10101234567"}
t = DOC_TYPES["LDL"]
xml = build_cda(doc, patient, t, when=datetime.now(timezone.utc), pdf=document_pdf(doc, patient, t))
first = cda_ans.validate(xml, sys.argv[1])
total = time.perf_counter() - t0
t1 = time.perf_counter()
second = cda_ans.validate(xml, sys.argv[1])
print(json.dumps({"total": total, "pipeline": first.pipeline_s, "saxon": first.saxon_compile_s, "run": first.run_s,
                  "cached": first.from_cache, "passed": first.passed, "warm": time.perf_counter() - t1}))
"""


def child(checkout: Path, cache: Path) -> dict:
    env = {"SEGUR_CDA_CACHE": str(cache), "PATH": "/usr/bin:/bin", "HOME": str(cache)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(checkout)], capture_output=True, text=True, cwd=ROOT,
                         env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    shared = next((d for d in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if d.is_dir()), ROOT / "shared")
    ap.add_argument("--checkout", default=str(shared / "cda" / "TestContenuCDA-3-0"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    checkout = Path(args.checkout).resolve()
    cold, cached = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="segur-cda-bench-") as tmp:
            cold.append(child(checkout, Path(tmp)))
            cached.append(child(checkout, Path(tmp)))
    assert all(not c["cached"] for c in cold) and all(c["cached"] for c in cached)

    def med(rows: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(f"ANS CDA validation, {args.repeat} run(s) each, median seconds (fresh process per run):")
    for name, rows in (("cold (empty cache)", cold), ("cached", cached)):
        print(f"  {name:20s} total {med(rows, 'total'):6.2f}  pipeline {med(rows, 'pipeline'):6.2f}  "
              f"saxon compile {med(rows, 'saxon'):6.2f}  run {med(rows, 'run'):5.3f}")
    print(f"  warm (same process)  run {med(cold + cached, 'warm'):5.3f}")
    print(f"  cached / cold total: {med(cached, 'total') / med(cold, 'total'):.2f}")
    print(f"  every document passed: {all(r['passed'] for r in cold + cached)}")


if __name__ == "__main__":
    main()
