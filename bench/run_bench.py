"""The batch's four figures, measured side by side in one command (numbers printed, never asserted):

    .venv/bin/python -m bench.run_bench            # full: 200-proof campaign included (~10 min on 2 cores)
    .venv/bin/python -m bench.run_bench --quick    # smaller campaigns, same figures

1. the demo campaign end to end (``segur run``) against the naive loop a user would write: for each
   notebook ``papermill`` CLI then ``jupyter nbconvert --to webpdf --no-input``; also on a synthetic
   campaign of several proofs, where the fixed costs show;
2. the fixed overhead per proof inside a run (a notebook that only records one step): the wall time one
   more proof adds to a run, (T(N+1 proofs) − T(1 proof)) / N, and the median kernel time per proof;
3. a synthetic campaign of 200 proofs against one of 10: wall time per proof (ratio) and the peak
   memory (PSS, summed over the CLI, its kernels and Chromium);
4. the size of a proof holding 5 full-page screenshots.

nbconvert's webpdf launches Playwright's own Chromium download, which referencing machines do not
have; the naive loop is given the same system Chromium through a ``PLAYWRIGHT_BROWSERS_PATH`` folder
where the expected browser paths run the toolkit's Chromium (``find_chromium()``: Debian's
headless shell when installed) — the exact command a user types, with the same browser as ``segur``.

``--figures 1,4`` measures only some figures.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from bench.synthetic import Target, make_synthetic  # noqa: E402


def _env(**extra) -> dict:
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.update(extra)
    return env


class PeakMemory:
    """Peak PSS of a process and all its descendants, sampled every 0.5 s."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop.is_set():
            total = 0
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            for p in procs:
                try:
                    total += p.memory_full_info().pss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(0.5)

    def stop(self) -> int:
        self._stop.set()
        self.thread.join()
        return self.peak


def segur_run(params: Path, outputs: Path, env: dict, *extra: str, memory: bool = False) -> tuple[float, Path, int]:
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "segur_helpers.cli", "run", str(params), "--outputs", str(outputs),
                             *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    mem = PeakMemory(proc.pid) if memory else None
    out, err = proc.communicate()
    elapsed = time.monotonic() - t0
    peak = mem.stop() if mem else 0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"segur run failed ({proc.returncode}):\n{err[-3000:]}")
    campaign = yaml.safe_load(params.read_text())["campaign"]
    run = max((p for p in (outputs / campaign).iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    return elapsed, run, peak


def chromium_shim(folder: Path) -> Path:
    """A PLAYWRIGHT_BROWSERS_PATH whose expected headless shell is the system Chromium."""
    from segur_helpers.browser import find_chromium

    probe = subprocess.run([sys.executable, "-c", (
        "import asyncio\nfrom playwright.async_api import async_playwright\n"
        "async def m():\n  async with async_playwright() as p:\n    print(p.chromium.executable_path)\n"
        "asyncio.run(m())")], capture_output=True, text=True, env=_env(PLAYWRIGHT_BROWSERS_PATH=str(folder)))
    full = Path(probe.stdout.strip())   # …/chromium-NNNN/chrome-linux64/chrome
    # headless launches use the headless shell: …/chromium_headless_shell-NNNN/chrome-headless-shell-linux64/…
    shell = (folder / full.relative_to(folder).parts[0].replace("chromium-", "chromium_headless_shell-")
             / "chrome-headless-shell-linux64" / "chrome-headless-shell")
    for target in (full, shell):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f'#!/bin/sh\nexec {find_chromium()} "$@"\n')
        target.chmod(0o755)
    return folder


def naive_loop(params: Path, work: Path, env: dict) -> float:
    """For each notebook of the campaign: papermill CLI, then nbconvert --to webpdf --no-input."""
    from segur_helpers import catalog

    data = yaml.safe_load(params.read_text())
    if env.get("SEGUR_CATALOG_EXTRA"):
        os.environ["SEGUR_CATALOG_EXTRA"] = env["SEGUR_CATALOG_EXTRA"]
    catalog.catalog.cache_clear()
    shim = chromium_shim(work / "pw-browsers")
    env = dict(env, PLAYWRIGHT_BROWSERS_PATH=str(shim))
    t0 = time.monotonic()
    t_papermill = 0.0
    for i, rid in enumerate(data["requirements"]):
        for scen in catalog.get(rid).scenarios:
            folder = work / f"naive-{i:03d}"
            folder.mkdir(parents=True)
            out_nb = folder / "notebook.ipynb"
            t1 = time.monotonic()
            subprocess.run([str(BIN / "papermill"), str(scen.notebook_path), str(out_nb), "-p", "campaign", str(params),
                            "-p", "requirement", rid, "-p", "run_dir", str(folder), "-p", "run_id", "naive",
                            "--cwd", str(scen.notebook_path.parent)],
                           check=True, env=env, capture_output=True)
            t_papermill += time.monotonic() - t1
            subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "webpdf", "--no-input",
                            "--disable-chromium-sandbox", str(out_nb)], check=True, env=env, capture_output=True)
            assert out_nb.with_suffix(".pdf").is_file()
    total = time.monotonic() - t0
    print(f"    naive loop: papermill {t_papermill:.1f} s, nbconvert webpdf {total - t_papermill:.1f} s", flush=True)
    return total


def demo_params(stack, folder: Path) -> Path:
    """The whole demo campaign (params/demo.yaml) pointed at the benchmark's own stack."""
    data = yaml.safe_load(stack.retarget((ROOT / "params" / "demo.yaml").read_text(encoding="utf-8")))
    data["campaign"] = "bench-demo"
    path = folder / "demo.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller campaigns (50 instead of 200 proofs)")
    ap.add_argument("--large", type=int, help="size of the large synthetic campaign (default 200)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--figures", default="1,2,3,4",
                    help="which figures to measure, comma-separated (default: all four)")
    args = ap.parse_args(argv)
    try:
        figures = {int(f) for f in args.figures.split(",") if f.strip()}
    except ValueError:
        figures = set()
    if not figures or not figures <= {1, 2, 3, 4}:
        print(f"bench: --figures: expected numbers among 1,2,3,4 separated by commas, got {args.figures!r}",
              file=sys.stderr)
        return 2
    large = args.large or (50 if args.quick else 200)
    small, synthetic_loop, overhead_n = 10, (4 if args.quick else 8), (10 if args.quick else 20)
    work = Path(tempfile.mkdtemp(prefix="segur-bench-"))
    os.environ.setdefault("DEMO_DPI_ADMIN_PASSWORD", "bench-" + secrets.token_urlsafe(12))
    rows = []
    cores = os.cpu_count()
    print(f"segur-proofs benchmark — {cores} core(s), work folder {work}", flush=True)
    target = Target()
    try:
        if 1 in figures:
            # 1. demo campaign, then a synthetic one, against the naive loop
            from demo_dpi.stack import DemoStack

            for var in ("DEMO_LDAP_ADMIN_PASSWORD", "DEMO_OIDC_USER_PASSWORD", "DEMO_OIDC_ADMIN_PASSWORD",
                        "DEMO_PSC_USER_PASSWORD", "DEMO_PSC_ADMIN_PASSWORD"):
                os.environ.setdefault(var, "bench-" + secrets.token_urlsafe(12))
            # the whole demo target, as make demo starts it: DMP simulator, directory, identity providers
            stack = DemoStack(work / "demo-target", with_dmp=True, with_ldap=True, with_oidc=True,
                              with_psc=True).start(timeout=60)
            try:
                params = demo_params(stack, work)
                n_demo = sum(len(__import__("segur_helpers.catalog", fromlist=["get"]).get(r).scenarios)
                             for r in yaml.safe_load(params.read_text())["requirements"])
                t_segur, run, _ = segur_run(params, work / "segur-demo", _env())
                print(f"  demo campaign, segur run: {t_segur:.1f} s ({n_demo} proof(s))", flush=True)
                t_naive = naive_loop(params, work / "naive-demo", _env())
                print(f"  demo campaign, naive loop: {t_naive:.1f} s", flush=True)
            finally:
                stack.stop()
            rows.append((f"1. demo campaign end to end ({n_demo} proof(s))", f"{t_segur:.1f} s", f"{t_naive:.1f} s",
                         t_naive / t_segur, "≥ 4× faster", t_naive / t_segur >= 4))
            syn = work / "syn-loop"
            params = make_synthetic(syn, target.url, synthetic_loop, campaign="bench-loop")
            env = _env(SEGUR_CATALOG_EXTRA=str(syn))
            t_segur, _, _ = segur_run(params, work / "segur-loop", env)
            t_naive = naive_loop(params, work / "naive-loop", env)
            print(f"  synthetic {synthetic_loop} proofs: segur {t_segur:.1f} s, naive {t_naive:.1f} s", flush=True)
            rows.append((f"1b. synthetic campaign of {synthetic_loop} proofs end to end", f"{t_segur:.1f} s",
                         f"{t_naive:.1f} s", t_naive / t_segur, "≥ 4× faster", t_naive / t_segur >= 4))

        if 2 in figures:
            # 2. fixed overhead per proof inside a run
            one, many = work / "syn-1", work / f"syn-{overhead_n + 1}"
            t1, _, _ = segur_run(make_synthetic(one, target.url, 1, campaign="bench-one"), work / "out-1",
                                 _env(SEGUR_CATALOG_EXTRA=str(one)))
            tn, run, _ = segur_run(make_synthetic(many, target.url, overhead_n + 1, campaign="bench-many"),
                                   work / "out-n", _env(SEGUR_CATALOG_EXTRA=str(many)))
            marginal = (tn - t1) / overhead_n
            record = json.loads((run / "run.json").read_text())
            kernel = statistics.median(p["timing"]["execute_s"] for p in record["proofs"][1:])
            print(f"  overhead: 1 proof {t1:.1f} s, {overhead_n + 1} proofs {tn:.1f} s → {marginal:.2f} s per added proof; "
                  f"median kernel time per proof {kernel:.2f} s", flush=True)
            rows.append(("2. fixed overhead per proof inside a run (wall time one more proof adds)", f"{marginal:.2f} s",
                         f"1 proof alone: {t1:.1f} s", t1 / marginal, "≤ 1.0 s", marginal <= 1.0))
            rows.append(("   median kernel time of a one-step proof (warm kernel)", f"{kernel:.2f} s", "", None, "", None))

        if 3 in figures:
            # 3. 200 proofs against 10: time per proof, peak memory
            s_dir, l_dir = work / "syn-small", work / "syn-large"
            ts, _, mem_s = segur_run(make_synthetic(s_dir, target.url, small, campaign="bench-small"), work / "out-small",
                                     _env(SEGUR_CATALOG_EXTRA=str(s_dir)), memory=True)
            tl, _, mem_l = segur_run(make_synthetic(l_dir, target.url, large, campaign="bench-large"), work / "out-large",
                                     _env(SEGUR_CATALOG_EXTRA=str(l_dir)), memory=True)
            per_s, per_l = ts / small, tl / large
            print(f"  {small} proofs: {ts:.1f} s ({per_s:.2f} s/proof, peak {mem_s / 2**20:.0f} MiB); "
                  f"{large} proofs: {tl:.1f} s ({per_l:.2f} s/proof, peak {mem_l / 2**20:.0f} MiB)", flush=True)
            rows.append((f"3. time per proof, {large} proofs vs {small}", f"{per_l:.2f} s", f"{per_s:.2f} s", per_l / per_s,
                         "≤ 1.1×", per_l / per_s <= 1.1))
            rows.append((f"   peak memory of the {large}-proof run (PSS, CLI + kernels + Chromium)",
                         f"{mem_l / 2**20:.0f} MiB", f"{mem_s / 2**20:.0f} MiB", mem_l / mem_s, "≤ 1.5 GB",
                         mem_l <= 1.5e9))

        if 4 in figures:
            # 4. a proof with 5 full-page screenshots
            shots = work / "syn-shots"
            _, run, _ = segur_run(make_synthetic(shots, target.url, 1, campaign="bench-shots",
                                                 data={"SYN/T.001": {"shots": 5}}), work / "out-shots",
                                  _env(SEGUR_CATALOG_EXTRA=str(shots)))
            pdf = run / "SYN_T.001.01" / "SYN_T.001.01.pdf"
            pngs = sum(p.stat().st_size for p in (run / "SYN_T.001.01" / "evidence").glob("*.png"))
            size = pdf.stat().st_size
            rows.append(("4. PDF of a proof with 5 full-page screenshots", f"{size / 1e6:.2f} MB",
                         f"PNG evidence {pngs / 1e6:.2f} MB", size / pngs, "≤ 1 MB", size <= 1e6))
            print(f"  5 screenshots: {pdf} ({size} bytes)", flush=True)
    finally:
        target.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"{'figure':<78} {'segur':>10} {'baseline':>24} {'ratio':>7}  {'target':<12} ok")
    for name, ours, base, ratio, goal, ok in rows:
        r = f"{ratio:.2f}" if ratio is not None else ""
        flag = "" if ok is None else ("yes" if ok else "NO")
        print(f"{name:<78} {ours:>10} {base:>24} {r:>7}  {goal:<12} {flag}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (other work on the machine skews every figure)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
