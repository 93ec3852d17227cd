"""Speed of the whole dossier: guided proofs against the automated proofs' fixed overhead, in one command
(numbers printed, never asserted):

    .venv/bin/python -m bench.dossier [--rem REM.xlsx] [--quick]

1. baseline, measured here: the automated proofs' fixed overhead per proof inside a run (the batch's figure 2:
   a synthetic one-step notebook in warm kernels), (T(N+1 proofs) − T(1 proof)) / N;
2. the same for guided proofs whose elements are supplied files and an attestation (made in the ``segur run``
   process, no kernel): (T(N+1) − T(1)) / N, and its ratio to 1;
3. the same for guided proofs of one live capture (administrator session, one screen of the demo DPI): the
   wall time one more proof adds, and the median time of its capture step;
4. a dossier of every requirement of the REM the toolkit does not automate (≈150 of REM HOP-DPI), each with a
   guided proof of supplied files, ``segur run --scope rem`` on this machine's cores: wall time and per proof.

``--quick``: N = 8 and the first 40 requirements for 4.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import tempfile
from pathlib import Path

import yaml

from .run_bench import ROOT, Target, _env
from .run_bench import segur_run as _segur_run


def segur_run(params, outputs, env, *extra, memory=False, repeat=2):
    """The least disturbed of ``repeat`` runs (the machine is shared): (seconds, run folder, peak memory)."""
    best = None
    for i in range(repeat):
        out = _segur_run(params, Path(f"{outputs}-{i}"), env, *extra, memory=memory)
        if best is None or out[0] < best[0]:
            best = out
    return best
from .synthetic import make_synthetic

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d4944415478da63f8cfc0f01f0005000201a2b5f5d90000000049454e44ae426082")


def _files_spec(text: str) -> dict:
    return {"scenario": "Preuve guidée du banc de mesure", "elements": {
        1: {"text": f"{text} — capture fournie.", "file": "files/capture.png", "decision": "conforme"},
        2: {"text": f"{text} — extrait de journal fourni.", "file": "files/extrait.log", "decision": "conforme"},
        3: {"text": f"{text} — attestation.", "attestation": {"text": "Attesté pour le banc de mesure.",
                                                               "signatory": {"name": "Banc", "role": "mesure"},
                                                               "date": "2026-11-20"}, "decision": "conforme"}}}


def _live_spec(text: str) -> dict:
    return {"scenario": "Preuve guidée du banc de mesure (capture en direct)", "elements": {
        1: {"text": f"{text} — écran des paramètres de sécurité.",
            "live": {"role": "administrator", "url": "/admin/securite", "outline": "#password-policy"},
            "decision": "conforme"}}}


def guided_campaign(folder: Path, url: str, rem_json: Path, ids: list[str], *, live: bool, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    files = folder / "files"
    files.mkdir(exist_ok=True)
    (files / "capture.png").write_bytes(PNG)
    (files / "extrait.log").write_text("2026-11-30T10:00:00+01:00 demo-dpi auth admin réussite\n", encoding="utf-8")
    data = {"campaign": name, "vendor": "Banc", "product": {"name": "Demo DPI", "version": "0.1.0"},
            "operator": "Banc de mesure", "target": {"url": url, "admin": {"username": "admin",
                                                                           "password": "env:DEMO_DPI_ADMIN_PASSWORD"}},
            "driver": "demo", "rem": str(rem_json), "profile": "DPI",
            "requirements": {rid: {"guided": (_live_spec if live else _files_spec)(rid)} for rid in ids}}
    path = folder / "campaign.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def main(argv=None) -> int:
    from segur_helpers import catalog
    from segur_helpers.catalog.rem import import_rem

    ap = argparse.ArgumentParser(prog="python -m bench.dossier")
    ap.add_argument("--rem", type=Path, default=ROOT.parent / "shared" / "rem" / "export_full.xlsx")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if not args.rem.is_file():
        alt = ROOT.parent.parent / "shared" / "rem" / "export_full.xlsx"
        if not alt.is_file():
            print(f"bench: --rem: {args.rem} not found; expected a Squash export holding REM HOP-DPI")
            return 2
        args.rem = alt
    n = 8 if args.quick else 20
    work = Path(tempfile.mkdtemp(prefix="segur-bench-dossier-"))
    os.environ.setdefault("DEMO_DPI_ADMIN_PASSWORD", "bench-" + secrets.token_urlsafe(12))
    rem = import_rem(args.rem, "HOP-DPI")
    rem_json = work / "rem.json"
    rem.save(rem_json)
    ids = [rid for rid in rem.requirements if catalog.get(rid) is None]
    print(f"segur-proofs dossier benchmark — {os.cpu_count()} core(s), {len(ids)} REM requirements not automated, "
          f"work folder {work}", flush=True)
    rows = []
    target = Target()
    try:
        # 1. baseline: the automated proofs' fixed overhead (figure 2 of bench.run_bench), same command
        one, many = work / "syn-1", work / f"syn-{n + 1}"
        t1, _, _ = segur_run(make_synthetic(one, target.url, 1, campaign="bench-one"), work / "out-1",
                             _env(SEGUR_CATALOG_EXTRA=str(one)))
        tn, _, _ = segur_run(make_synthetic(many, target.url, n + 1, campaign="bench-many"), work / "out-n",
                             _env(SEGUR_CATALOG_EXTRA=str(many)))
        auto = (tn - t1) / n
        print(f"  automated (synthetic, warm kernels): 1 proof {t1:.1f} s, {n + 1} proofs {tn:.1f} s → "
              f"{auto:.2f} s per added proof", flush=True)
        rows.append(("1. automated proofs: fixed overhead per added proof (baseline)", f"{auto:.2f} s", "", ""))

        # 2. guided proofs of supplied files and an attestation
        t1, _, _ = segur_run(guided_campaign(work / "files-1", target.url, rem_json, ids[:1], live=False,
                                             name="bench-guided-1"), work / "out-g1", _env())
        tn, run, _ = segur_run(guided_campaign(work / f"files-{n + 1}", target.url, rem_json, ids[:n + 1],
                                               live=False, name="bench-guided-n"), work / "out-gn", _env())
        files = (tn - t1) / n
        record = json.loads((run / "run.json").read_text())
        made = statistics.median(p["timing"]["execute_s"] for p in record["proofs"])
        print(f"  guided, files and attestation: 1 proof {t1:.1f} s, {n + 1} proofs {tn:.1f} s → {files:.2f} s per "
              f"added proof ({files / auto:.2f}× the baseline); median time to make one (no kernel) {made:.2f} s",
              flush=True)
        rows.append(("2. guided proofs, supplied files + attestation: per added proof", f"{files:.2f} s",
                     f"{files / auto:.2f}×", "≤ 1.5× and ≤ 0.5 s"))
        rows.append(("   median time to make one in the run process (3 elements, no kernel)", f"{made:.2f} s", "", ""))

        # 3. guided proofs of one live capture, against the demo DPI
        from demo_dpi.stack import DemoStack
        stack = DemoStack(work / "target").start()
        try:
            t1, _, _ = segur_run(guided_campaign(work / "live-1", stack.url, rem_json, ids[:1], live=True,
                                                 name="bench-live-1"), work / "out-l1", _env())
            tn, run, _ = segur_run(guided_campaign(work / f"live-{n + 1}", stack.url, rem_json, ids[:n + 1],
                                                   live=True, name="bench-live-n"), work / "out-ln", _env())
        finally:
            stack.stop()
        live = (tn - t1) / n
        record = json.loads((run / "run.json").read_text())
        steps = []
        for p in record["proofs"]:
            result = json.loads((run / p["folder"] / "result.json").read_text())
            steps += [s["duration_s"] for s in result["steps"]]
        capture = statistics.median(steps)
        workers = os.cpu_count() or 1
        beyond = live - capture / workers   # the captures run side by side, one per worker
        print(f"  guided, one live capture: 1 proof {t1:.1f} s, {n + 1} proofs {tn:.1f} s → {live:.2f} s per added "
              f"proof; median capture step {capture:.2f} s ({workers} side by side); beyond the captures "
              f"{beyond:.2f} s ({beyond / auto:.2f}× the baseline)", flush=True)
        rows.append(("3. guided proofs, one live capture: per added proof", f"{live:.2f} s", f"{live / auto:.2f}×", ""))
        rows.append(("   the capture step (median: sign-in, page, screenshot), one per worker", f"{capture:.2f} s", "",
                     ""))
        rows.append(("   per added proof beyond its capture", f"{beyond:.2f} s", f"{beyond / auto:.2f}×", "≤ 1.5×"))

        # 4. the whole REM as a dossier of guided proofs
        some = ids[:40] if args.quick else ids
        params = guided_campaign(work / "dossier", target.url, rem_json, some, live=False, name="bench-dossier")
        t, run, peak = segur_run(params, work / "out-dossier", _env(), "--scope", "rem", memory=True, repeat=1)
        per = t / len(some)
        print(f"  dossier of {len(some)} guided proofs (--scope rem): {t:.1f} s, {per:.2f} s per proof, "
              f"peak memory {peak / 2**20:.0f} MiB", flush=True)
        rows.append((f"4. dossier of {len(some)} REM requirements (guided, files), end to end", f"{t:.1f} s",
                     f"{per:.2f} s per proof", ""))
    finally:
        target.stop()
    print()
    print(f"{'figure':<78} {'value':>10} {'ratio':>8}  target")
    for label, value, ratio, goal in rows:
        print(f"{label:<78} {value:>10} {ratio:>8}  {goal}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
