"""``segur driver check PARAMS``: before any run, does the campaign's driver provide what each
requirement in scope needs? Lists, per requirement, the capability methods its notebook calls (through
the scenario module's functions, see :mod:`segur_helpers.catalog.needs`), those missing with the
interface class (and its module) to subclass, and the result of each capability's smoke call
(side-effect free, see ``Capability.smoke``; the YAML driver runs there the first side-effect-free steps
of each mapped action).

Exit code: 0 everything present and answering; 1 something missing or failing; 2 bad input.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, field

from .. import catalog
from ..catalog.needs import analyse_scenario
from ..errors import UserError
from ..params import Campaign, Secrets, load_campaign
from . import DriverContext, load_driver_class
from .contract import capability_interfaces, lenient_capabilities, missing_method


@dataclass
class Line:
    status: str          # ok | MISSING | manual
    capability: str
    method: str
    steps: list[int]
    detail: str = ""


@dataclass
class RequirementReport:
    requirement: str
    modules: list[str]
    lines: list[Line] = field(default_factory=list)
    note: str = ""
    calls: list[str] = field(default_factory=list)   # the scenario functions its notebook calls


@dataclass
class Report:
    campaign: str
    driver: str
    target: str = ""
    reachable: str = ""
    start_error: str = ""
    requirements: list[RequirementReport] = field(default_factory=list)
    smoke: dict[str, str] = field(default_factory=dict)   # capability -> "ok" | error

    @property
    def problems(self) -> int:
        n = sum(1 for r in self.requirements for l in r.lines if l.status == "MISSING")
        n += sum(1 for r in self.requirements if r.note.startswith("no scenario module"))
        n += sum(1 for v in self.smoke.values() if not smoke_ok(v))
        return n + bool(self.start_error) + (self.reachable not in ("", "reachable"))


@dataclass
class RequirementNeeds:
    requirement: str
    modules: list[str]                                  # scenario modules (dotted names)
    functions: list[str]                                # the functions its notebooks call on them
    required: dict[tuple[str, str], list[int]]          # (capability, method) → steps
    manual: dict[tuple[str, str], list[int]]            # calls only made by steps marked manual


def needs_of(campaign: Campaign) -> list[RequirementNeeds]:
    """Per requirement in scope (condition met): what its notebooks call, and what is left to manual steps."""
    out = []
    for rid, entry in campaign.requirements.items():
        if not entry["condition_met"] or entry.get("guided") is not None:
            continue   # a justification, or a guided proof (its sessions: guided_notes)
        req = catalog.get(rid)
        manual = set(entry.get("manual") or {})
        modules, functions, required, manual_calls = [], [], {}, {}
        for scen in req.scenarios:
            for needs in analyse_scenario(scen):
                modules.append(needs.module)
                functions += [f for f in needs.functions if f not in functions]
                for call, steps in needs.required(manual).items():
                    required.setdefault(call, []).extend(steps)
                for call, steps in needs.required().items():
                    manual_calls.setdefault(call, []).extend(steps)
        manual_calls = {c: s for c, s in manual_calls.items() if c not in required}
        out.append(RequirementNeeds(rid, modules, functions, required, manual_calls))
    return out


def interface_label(iface) -> str:
    """``ContactChanges from segur_helpers.drivers.contact``: the class a driver subclasses, and where it is."""
    return f"{iface.__name__} from {iface.__module__}"


async def check_driver(campaign: Campaign, *, smoke: bool = True) -> Report:
    from playwright.async_api import async_playwright

    from ..browser import launch
    from ..proof import check_reachable

    cls = load_driver_class(campaign.driver, file=str(campaign.path))
    report = Report(campaign=campaign.name, driver=f"{campaign.driver} ({cls.__module__}:{cls.__name__})",
                    target=campaign.target_url)
    interfaces = capability_interfaces()
    try:
        await asyncio.to_thread(check_reachable, campaign.target_url)
        report.reachable = "reachable"
    except Exception as exc:  # noqa: BLE001
        report.reachable = str(exc)
    secrets = Secrets()
    async with async_playwright() as pw:
        browser = await launch(pw)
        driver = None
        try:
            with lenient_capabilities():
                try:
                    driver = cls(DriverContext(campaign=campaign, secrets=secrets, browser=browser,
                                               settings=campaign.section("driver_settings")))
                except Exception as exc:  # noqa: BLE001
                    report.start_error = secrets.redact(f"driver could not be created: {type(exc).__name__}: {exc}")
            if driver is not None and report.reachable == "reachable" and smoke:
                try:
                    await asyncio.wait_for(driver.start(), timeout=campaign.timeouts["step_s"])
                except Exception as exc:  # noqa: BLE001
                    report.start_error = secrets.redact(f"driver.start() failed: {type(exc).__name__}: {exc}")
            for need in needs_of(campaign):
                rr = RequirementReport(need.requirement, need.modules, calls=need.functions)
                if not need.modules:
                    rr.note = "no scenario module found (notebook imports none)"
                for (cap, method), steps in sorted(need.required.items()):
                    iface = interfaces.get(cap)
                    label = interface_label(iface) if iface else "no interface of that name in segur_helpers.drivers"
                    obj = getattr(driver, cap, None) if driver is not None else None
                    if driver is None:
                        rr.lines.append(Line("MISSING", cap, method, steps, "driver not loaded"))
                    elif obj is None:
                        rr.lines.append(Line("MISSING", cap, method, steps,
                                             f"the driver has no {cap} capability: subclass {label} and set "
                                             f"driver.{cap}"))
                    elif why := missing_method(obj, method):
                        rr.lines.append(Line("MISSING", cap, method, steps,
                                             f"{why} in {type(obj).__name__} (interface {label})"))
                    else:
                        rr.lines.append(Line("ok", cap, method, steps, type(obj).__name__))
                        if smoke and cap not in report.smoke:
                            report.smoke[cap] = await _smoke(obj, report, campaign, secrets)
                for (cap, method), steps in sorted(need.manual.items()):
                    rr.lines.append(Line("manual", cap, method, steps, "step(s) marked manual in the campaign"))
                report.requirements.append(rr)
            for rid, entry in campaign.requirements.items():
                spec = entry.get("guided")
                if spec is not None:   # guided proof: the driver's sessions its live captures use
                    roles = sorted({e.live["role"] for e in spec.elements if e.mode == "live"})
                    rr = RequirementReport(rid, ["segur_helpers.guided"])
                    rr.note = (f"guided proof, live captures in session(s) {', '.join(roles)} "
                               f"(offered: anonymous, {', '.join(getattr(cls, 'session_roles', {})) or 'none'})"
                               if roles else "guided proof, no live capture (files and attestations)")
                    report.requirements.append(rr)
        finally:
            if driver is not None:
                try:
                    await driver.close()
                except Exception:  # noqa: BLE001
                    pass
            await browser.close()
    return report


async def _smoke(obj, report: Report, campaign: Campaign, secrets: Secrets) -> str:
    if report.reachable != "reachable":
        return "not tried: target unreachable"
    if report.start_error:
        return "not tried: driver did not start"
    try:
        said = await asyncio.wait_for(obj.smoke(), timeout=campaign.timeouts["step_s"])
        return f"ok — {secrets.redact(said)}" if isinstance(said, str) and said else "ok"
    except Exception as exc:  # noqa: BLE001
        first = (str(exc).strip().splitlines() or [""])[0]
        return secrets.redact(f"{type(exc).__name__}: {first}")[:300]


def render(report: Report) -> str:
    out = [f"campaign {report.campaign} — driver {report.driver}",
           f"target {report.target}: {report.reachable or 'not checked'}"]
    if report.start_error:
        out.append(f"FAILED   {report.start_error}")
    for rr in report.requirements:
        out.append(f"{rr.requirement} — scenario module {', '.join(rr.modules) or '?'}"
                   + (f" ({rr.note})" if rr.note else "")
                   + (f"; its notebook calls {', '.join(rr.calls)}" if rr.calls else ""))
        for l in rr.lines:
            steps = ", ".join("outside steps" if n == 0 else str(n) for n in sorted(set(l.steps)))
            name = f"{l.capability}.{l.method}"
            out.append(f"  {l.status:<8} {name:<40} step {steps:<8} {l.detail}")
    for cap, res in report.smoke.items():
        out.append(f"smoke    {cap}: {res}")
    n = report.problems
    out.append("result: every capability method needed is present and answering" if n == 0
               else f"result: {n} problem(s)")
    return "\n".join(out)


def _cmd_check(args) -> int:
    campaign = load_campaign(args.params)
    campaign.check_secrets_available()
    report = asyncio.run(check_driver(campaign, smoke=not args.no_smoke))
    print(render(report))
    return 0 if report.problems == 0 else 1


def smoke_ok(result: str) -> bool:
    return result == "ok" or result.startswith("ok — ")


def register(subparsers) -> None:
    """Add ``segur driver check``, ``segur init`` and ``segur lab`` to the CLI."""
    drv = subparsers.add_parser("driver", help="the campaign's driver: what it provides")
    dsub = drv.add_subparsers(dest="driver_command", required=True)
    chk = dsub.add_parser("check", help="list, per requirement in scope, the driver capabilities and methods "
                                        "missing or failing a smoke call, before any run")
    chk.add_argument("params", help="campaign params file (YAML)")
    chk.add_argument("--no-smoke", action="store_true", help="do not call the capabilities (offline check)")
    chk.set_defaults(func=_cmd_check)
    from ..scaffold import register as register_scaffold
    register_scaffold(subparsers)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - convenience
    ap = argparse.ArgumentParser(prog="segur")
    register(ap.add_subparsers(dest="command", required=True))
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
