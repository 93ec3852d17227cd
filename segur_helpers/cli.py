"""``segur``: the command line over the pipeline (English; proofs themselves are French)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .errors import UserError


def _cmd_run(args) -> int:
    from .batch import exit_code, run_campaign

    only = [x.strip() for x in args.only.split(",") if x.strip()] if args.only else None
    run_dir, outcomes = run_campaign(args.params, outputs=args.outputs, only=only)
    print(f"run folder: {run_dir}")
    for o in outcomes:
        if o.error and o.error.get("kind") == "target_unreachable":
            print(f"error: {o.error['message']} — expected a running target; proof {o.scenario} is ERREUR",
                  file=sys.stderr)
        elif o.error:
            print(f"error: proof {o.scenario} is ERREUR: {o.error['message']}", file=sys.stderr)
    for o in outcomes:
        if o.pdf:
            print(f"PDF: {o.pdf}")
    return exit_code(outcomes)


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


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="segur", description="Ségur referencing proofs from notebooks.")
    ap.add_argument("--version", action="version", version=f"segur-proofs {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a campaign: one PDF proof per scenario in scope")
    run.add_argument("params", help="campaign params file (YAML)")
    run.add_argument("--only", help="comma-separated requirement ids, e.g. SSI/IE.31")
    run.add_argument("--outputs", type=Path, help="outputs folder (default: the toolkit's outputs/)")
    run.set_defaults(func=_cmd_run)
    lst = sub.add_parser("list", help="the requirements and scenarios the toolkit covers")
    lst.add_argument("params", nargs="?", help="only those in this campaign's scope")
    lst.set_defaults(func=_cmd_list)
    from . import catalog_cli, driver_check

    catalog_cli.register(sub)  # catalog, justify, bundle
    driver_check.register(sub)  # driver check, init, lab
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
