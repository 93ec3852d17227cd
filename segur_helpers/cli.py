"""``segur``: the command line over the pipeline (English; proofs themselves are French)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .errors import UserError


def _batch_options(args):
    from .batch import Options

    return Options(workers=args.workers or 0, executor=args.executor, scheduler=args.scheduler,
                   sign_key=args.sign_key)


def _report(run_dir: Path, outcomes) -> int:
    from .batch import exit_code

    print(f"run folder: {run_dir}")
    for o in outcomes:
        if o.error and o.error.get("kind") == "target_unreachable":
            print(f"error: {o.error['message']} — expected a running target; proof {o.scenario} is ERREUR",
                  file=sys.stderr)
        elif o.error and o.verdict == "ERREUR":
            print(f"error: proof {o.scenario} is ERREUR: {o.error['message']}", file=sys.stderr)
    for o in outcomes:
        if o.pdf:
            print(f"PDF: {o.pdf}")
    import json
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    if record.get("status") == "interrupted":
        print(f"interrupted: {len(record.get('remaining', []))} proof(s) not run; finish with: "
              f"segur run --resume {run_dir}", file=sys.stderr)
        return 130
    if (run_dir / "summary.pdf").is_file():
        print(f"summary: {run_dir / 'summary.pdf'}")
    dossier = record.get("dossier")
    if dossier:   # segur run --scope rem: how many requirements of the REM the dossier still lacks
        c = dossier["counts"]
        code = (dossier.get("rem") or {}).get("code") or "the imported REM"
        print(f"dossier: {sum(c.values())} requirement(s) of REM {code}: {c['automated']} automated, "
              f"{c['guided']} guided, {c['justified']} justified, {c['out_of_profile']} out of profile, "
              f"{c['missing']} missing")
        if c["missing"]:
            print(f"missing: {c['missing']} requirement(s) of the REM have no proof yet (listed in summary.xlsx, "
                  "sheet Dossier, and summary.pdf)")
    return exit_code(outcomes)


def _cmd_run(args) -> int:
    from .batch import resume_run, run_campaign

    if args.resume:
        if args.params or args.only or args.family or args.tag or args.scope != "campaign":
            raise UserError("takes only the run folder; expected segur run --resume RUN", key="--resume")
        run_dir, outcomes = resume_run(args.resume, outputs=args.outputs, options=_batch_options(args))
        return _report(run_dir, outcomes)
    if not args.params:
        raise UserError("missing; expected segur run PARAMS (a campaign YAML file) or --resume RUN", key="PARAMS")
    run_dir, outcomes = run_campaign(args.params, outputs=args.outputs, only=args.only, family=args.family,
                                     tags=args.tag, options=_batch_options(args), scope=args.scope)
    return _report(run_dir, outcomes)


def _cmd_rerun(args) -> int:
    from .batch import rerun_failed

    if not args.failed:
        raise UserError("expected --failed (rerun only ERREUR and NON CONFORME proofs)", key="rerun")
    run_dir, outcomes = rerun_failed(args.run, outputs=args.outputs, options=_batch_options(args))
    return _report(run_dir, outcomes)


def _cmd_verify(args) -> int:
    from .proof import default_outputs
    from .runfolder import find_run, public_key_fingerprint, verify_run

    run_dir = find_run(args.run, args.outputs or default_outputs())
    if args.pubkey:
        public_key_fingerprint(args.pubkey)      # « clé publique illisible » before anything else
    found = verify_run(run_dir, args.pubkey)
    for p in found.problems:
        print(f"FAIL {p}")
    if found.problems:
        print(f"{run_dir}: {len(found.problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"OK {run_dir}: {found.files} file(s) match manifest.json; signature {found.signature}")
    return 0


def _cmd_status(args) -> int:
    from .proof import default_outputs, now_paris
    from .runfolder import latest_per_requirement

    outputs = args.outputs or default_outputs()
    if not outputs.is_dir():
        raise UserError("no such folder; expected the outputs folder holding the runs", key=str(outputs))
    if args.max_age_days <= 0:
        raise UserError(f"{args.max_age_days}; expected a positive number of days", key="--max-age-days")
    rows = latest_per_requirement(outputs, args.campaign, args.max_age_days, args.version, now_paris())
    if not rows:
        print("no proofs yet")
        return 0
    print(f"{'campaign':<12} {'scenario':<18} {'verdict':<15} {'version':<10} {'when':<26} run / stale")
    for r in rows:
        flag = f"STALE: {r['stale']}" if r["stale"] else ""
        was = f" (made as {r['renamed_from']})" if r.get("renamed_from") else ""
        print(f"{r['campaign']:<12} {r['scenario']:<18} {r['verdict']:<15} {r['version']:<10} {r['when'] or '':<26} "
              f"{r['run_id']}{was} {flag}".rstrip())
    stale = sum(1 for r in rows if r["stale"])
    print(f"{len(rows)} scenario(s), {stale} stale")
    return 0


def _cmd_list(args) -> int:
    from . import catalog
    from .params import load_campaign

    scope = load_campaign(args.params).requirements if args.params else None
    for req in catalog.catalog().values():
        if scope is not None and req.id not in scope:
            continue
        kind = "conditional" if req.conditional else "unconditional"
        for s in req.scenarios:
            present = "notebook ok" if s.notebook_path.is_file() else "NOTEBOOK MISSING"
            state = ""
            if scope is not None:
                state = "  condition met" if scope[req.id]["condition_met"] else "  condition NOT met"
            print(f"{s.id:<16} {req.title}  [{kind}; {len(s.proofs)} proof elements; {s.notebook}: {present}]{state}")
    return 0


MAX_WORKERS = 64   # each worker is a kernel (about 150 MB) and a share of Chromium


def _workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}; expected a whole number of workers from 1 to {MAX_WORKERS}") from None
    if not 1 <= n <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"{text!r}; expected a whole number of workers from 1 to {MAX_WORKERS}")
    return n


def _days(text: str) -> float:
    import math
    try:
        n = float(text)
    except ValueError:
        n = float("nan")
    if not math.isfinite(n) or not 0 < n <= 1_000_000:
        raise argparse.ArgumentTypeError(f"{text!r}; expected a positive number of days (at most 1000000)")
    return n


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (``error: …``) and exit code 2, as for any bad input."""

    def error(self, message: str):  # noqa: D401
        print(f"error: {self.prog}: {message}", file=sys.stderr)
        raise SystemExit(2)


def _add_batch_options(p) -> None:
    p.add_argument("--outputs", type=Path, help="outputs folder (default: the toolkit's outputs/)")
    p.add_argument("--workers", type=_workers, help=f"parallel workers, 1 to {MAX_WORKERS} (default: number of cores)")
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="local worker kernels (default) or an existing Dask distributed cluster")
    p.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786) with --executor dask")
    p.add_argument("--sign-key", type=Path, help="PEM private key: sign manifest.json (openssl dgst -sha256)")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="segur", description="Ségur referencing proofs from notebooks.")
    ap.add_argument("--version", action="version", version=f"segur-proofs {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run a campaign: one PDF proof per scenario in scope")
    run.add_argument("params", nargs="?", help="campaign params file (YAML)")
    run.add_argument("--only", action="append", help="comma-separated requirement ids, e.g. SSI/IE.31")
    run.add_argument("--family", action="append", help="requirement families, e.g. SSI")
    run.add_argument("--tag", action="append", help="catalogue tags")
    run.add_argument("--resume", metavar="RUN", help="finish an interrupted run (its folder)")
    run.add_argument("--scope", choices=("campaign", "rem"), default="campaign",
                     help="rem: the whole dossier — every requirement of the imported REM accounted for "
                          "(automated, guided, justified, out of profile or missing)")
    _add_batch_options(run)
    run.set_defaults(func=_cmd_run)
    rerun = sub.add_parser("rerun", help="run the failed proofs of a run again, in the same run folder")
    rerun.add_argument("run", help="the run folder (or <campaign>/<run-id>)")
    rerun.add_argument("--failed", action="store_true", help="the ERREUR and NON CONFORME proofs")
    _add_batch_options(rerun)
    rerun.set_defaults(func=_cmd_rerun)
    ver = sub.add_parser("verify", help="re-hash a run folder against its manifest (and signature)")
    ver.add_argument("run", help="the run folder (or <campaign>/<run-id>)")
    ver.add_argument("--pubkey", type=Path, help="PEM public key: check manifest.json.sig")
    ver.add_argument("--outputs", type=Path, help="outputs folder (default: the toolkit's outputs/)")
    ver.set_defaults(func=_cmd_verify)
    st = sub.add_parser("status", help="latest verdict per scenario across runs, stale ones flagged")
    st.add_argument("campaign", nargs="?", help="only this campaign")
    st.add_argument("--outputs", type=Path, help="outputs folder (default: the toolkit's outputs/)")
    st.add_argument("--max-age-days", type=_days, default=30.0, help="older proofs are stale (default 30)")
    st.add_argument("--version", dest="version", help="the product version in force: proofs of others are stale")
    st.set_defaults(func=_cmd_status)
    lst = sub.add_parser("list", help="the requirements and scenarios the toolkit covers")
    lst.add_argument("params", nargs="?", help="only those in this campaign's scope")
    lst.set_defaults(func=_cmd_list)
    from . import catalog_cli
    from .drivers import check as driver_check

    catalog_cli.register(sub)  # catalog, justify, bundle
    driver_check.register(sub)  # driver check, init, lab
    return ap


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 all CONFORME / NON APPLICABLE, 1 some NON CONFORME (and nothing else ever exits 1),
    2 bad input, a proof ERREUR or anything that failed, 130 interrupted."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:          # --help, --version (0) or a usage error (2, one line already said)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    try:
        return args.func(args)
    except UserError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:            # `segur list | head`
        return 0
    except Exception as exc:  # noqa: BLE001 — a crash is not a verdict: never exit 1, never a traceback
        import os
        if os.environ.get("SEGUR_DEBUG"):
            import traceback
            traceback.print_exc()
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        print(f"error: unexpected failure: {type(exc).__name__}: {first} (SEGUR_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        return 2


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text else text


if __name__ == "__main__":
    sys.exit(main())
