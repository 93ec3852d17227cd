"""`segur driver check` says, for every demo requirement, exactly what its notebook calls.

The whole demo campaign runs once through a tracing driver (the demo driver whose capabilities record
every method the scenario code calls, per requirement); the check's report on the same campaign must
name the same methods: none missing (a call the check did not see), none extra (a requirement asked
for a method its notebook never calls), except calls made only on a path a compliant run does not take
(listed here, with the reason).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import textwrap

import yaml

from conftest import ROOT, run_segur

TRACING_DRIVER = textwrap.dedent('''
    """The demo driver, each capability wrapped to record what scenario code calls on it."""
    import json
    import os
    import sys

    from demo_dpi.driver import DemoDriver


    class _Traced:
        def __init__(self, name, real, log):
            self._name, self._real, self._log = name, real, log

        def __getattr__(self, attr):
            value = getattr(self._real, attr)
            if not callable(value):
                return value
            name, log = self._name, self._log

            def call(*args, **kwargs):
                caller = sys._getframe(1)
                if caller.f_globals.get("__name__", "").startswith("segur_helpers.scenarios"):
                    proof = caller.f_locals.get("proof")
                    rid = proof.requirement.id if proof is not None else "?"
                    with open(log, "a", encoding="utf-8") as fh:
                        fh.write(json.dumps([rid, name, attr]) + "\\n")
                return value(*args, **kwargs)
            return call


    class TracingDriver(DemoDriver):
        def __init__(self, ctx):
            super().__init__(ctx)
            log = ctx.settings["trace"]
            for name, value in list(vars(self).items()):
                if not name.startswith("_") and hasattr(value, "smoke"):
                    setattr(self, name, _Traced(name, value, log))
''')

# (requirement, capability, method): needed by the scenario, but called only when a compliant run
# goes another way (an error or manual branch, a retry loop that ends at once …)
NOT_REACHED_WHEN_COMPLIANT: set[tuple[str, str, str]] = {
    # waits for the product's scheduled synchronisation only with data.sync.mode: wait; the demo
    # campaign triggers one (mode: trigger)
    ("SSI/IAM.83", "directory_sync", "wait_for_sync"),
    ("SSI/IAM.85", "directory_sync", "wait_for_sync"),
    # undoes a link an earlier run left on the target: a fresh target has none
    ("PSC.02", "psc_reconciliation", "undo"),
}


def test_check_report_matches_what_every_demo_notebook_calls(tmp_path, demo_stack, monkeypatch):
    for var in ("DEMO_LDAP_ADMIN_PASSWORD", "DEMO_OIDC_USER_PASSWORD", "DEMO_OIDC_ADMIN_PASSWORD",
                "DEMO_PSC_USER_PASSWORD", "DEMO_PSC_ADMIN_PASSWORD"):
        monkeypatch.setenv(var, "demo-" + secrets.token_urlsafe(16))
    stack = demo_stack(with_dmp=True, with_ldap=True, with_oidc=True, with_psc=True)
    trace = tmp_path / "trace.jsonl"
    (tmp_path / "tracing_driver.py").write_text(TRACING_DRIVER, encoding="utf-8")
    text = stack.retarget((ROOT / "params" / "demo.yaml").read_text(encoding="utf-8"))
    text = text.replace("driver: demo\n", f"driver: tracing_driver:TracingDriver\ndriver_settings: {{trace: {trace}}}\n")
    params = tmp_path / "demo.yaml"
    params.write_text(text, encoding="utf-8")

    # what the check says needs no driver code: the same campaign with the plain demo driver
    plain = tmp_path / "plain.yaml"
    plain.write_text(text.replace("driver: tracing_driver:TracingDriver\n", "driver: demo\n"), encoding="utf-8")
    check = run_segur("driver", "check", str(plain), "--no-smoke", env=os.environ.copy())
    static: dict[str, set[tuple[str, str]]] = {}
    current = None
    for line in check.stdout.splitlines():
        if m := re.match(r"^(\S.*?) — scenario module ", line):
            current = static.setdefault(m.group(1), set())
        elif m := re.match(r"^  (ok|MISSING)\s+(\w+)\.(\w+)\s", line):
            current.add((m.group(2), m.group(3)))
    assert "MISSING" not in check.stdout, check.stdout

    proc = run_segur("run", str(params), "--outputs", str(tmp_path / "out"), env=os.environ.copy(), timeout=1500)
    (run,) = [p for p in (tmp_path / "out" / "demo").iterdir() if p.is_dir()]
    verdicts = {p["scenario"]: p["verdict"] for p in json.loads((run / "run.json").read_text())["proofs"]}
    assert set(verdicts.values()) == {"CONFORME"}, (verdicts, proc.stdout[-2000:])
    called: dict[str, set[tuple[str, str]]] = {}
    for line in trace.read_text(encoding="utf-8").splitlines():
        rid, cap, method = json.loads(line)
        called.setdefault(rid, set()).add((cap, method))

    assert set(static) == set(called), (sorted(static), sorted(called))
    wrong = []
    for rid in static:
        missed = called[rid] - static[rid]
        extra = {c for c in static[rid] - called[rid] if (rid, *c) not in NOT_REACHED_WHEN_COMPLIANT}
        if missed:
            wrong.append(f"{rid}: the notebook calls {sorted(missed)}, the check does not say so")
        if extra:
            wrong.append(f"{rid}: the check requires {sorted(extra)}, the notebook never called them")
    assert not wrong, "\n".join(wrong)
    assert len(static) == len(yaml.safe_load(text)["requirements"]) >= 18   # every demo requirement
