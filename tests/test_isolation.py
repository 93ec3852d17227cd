"""Proofs cannot disturb each other: the whole demo campaign, with 4 workers, five times in a row on one
target, gives the same verdicts every time, and no proof that reads the accounts as a whole (SSI/IAM.87,
SSI/IAM.94 count them) ever ran while a proof that creates or changes accounts was running.

Long (five campaigns): marked ``slow``."""
from __future__ import annotations

import json
import os
import secrets
from datetime import datetime

import pytest
import yaml

from conftest import ROOT, run_segur
from segur_helpers import catalog

RUNS = 5


@pytest.mark.slow
@pytest.mark.timeout(5400)
def test_whole_demo_campaign_five_times_with_four_workers_gives_identical_verdicts(tmp_path, demo_stack,
                                                                                   monkeypatch):
    for var in ("DEMO_LDAP_ADMIN_PASSWORD", "DEMO_OIDC_USER_PASSWORD", "DEMO_OIDC_ADMIN_PASSWORD",
                "DEMO_PSC_USER_PASSWORD", "DEMO_PSC_ADMIN_PASSWORD"):
        monkeypatch.setenv(var, "demo-" + secrets.token_urlsafe(16))
    stack = demo_stack(with_dmp=True, with_ldap=True, with_oidc=True, with_psc=True)      # one target for every run
    text = stack.retarget((ROOT / "params" / "demo.yaml").read_text(encoding="utf-8"))
    params = tmp_path / "demo.yaml"
    params.write_text(text, encoding="utf-8")
    in_scope = yaml.safe_load(text)["requirements"]
    out = tmp_path / "out"
    seen = []
    for n in range(RUNS):
        proc = run_segur("run", str(params), "--outputs", str(out), "--workers", "4", env=os.environ.copy(),
                         timeout=1500)
        (run,) = [p for p in (out / "demo").iterdir() if p.is_dir() and p.name not in {s[0] for s in seen}]
        proofs = json.loads((run / "run.json").read_text(encoding="utf-8"))["proofs"]
        verdicts = {p["scenario"]: p["verdict"] for p in proofs}
        assert len(verdicts) >= len(in_scope)
        seen.append((run.name, verdicts, proc))
        assert verdicts == seen[0][1], (f"run {n + 1} differs from run 1",
                                        {k: (seen[0][1].get(k), v) for k, v in verdicts.items() if seen[0][1].get(k) != v},
                                        proc.stdout[-2000:])
        _no_reader_beside_a_writer(run)
    assert set(seen[0][1].values()) == {"CONFORME"}, seen[0][1]


def _no_reader_beside_a_writer(run) -> None:
    spans = {}
    for f in run.glob("*/result.json"):
        r = json.loads(f.read_text(encoding="utf-8"))
        spans[r["scenario"]] = (datetime.fromisoformat(r["started"]), datetime.fromisoformat(r["finished"]))
    scenarios = {s.id: s for req in catalog.catalog().values() for s in req.scenarios}
    readers = [s for s in spans if scenarios[s].reads_all]
    writers = [s for s in spans if scenarios[s].writes]
    assert readers and writers
    for r in readers:
        for w in writers:
            if set(scenarios[r].reads_all) & set(scenarios[w].writes):
                (a0, a1), (b0, b1) = spans[r], spans[w]
                assert not (a0 < b1 and b0 < a1), f"{run.name}: {r} ran {a0}–{a1} beside {w} {b0}–{b1}"
