"""``segur driver check``: what each requirement in scope needs from the campaign's driver."""
from __future__ import annotations

import os
import textwrap

from conftest import campaign_dict, run_segur
from segur_helpers.catalog.needs import analyse_source

BROKEN = textwrap.dedent('''
    from segur_helpers.drivers.base import Accounts
    from demo_dpi.driver import DemoAccounts, DemoDriver
    from segur_helpers.drivers.mailboxes import mailbox_from_params


    class HalfAccounts(Accounts):          # create/show only: no extract_verification, no verify
        create = DemoAccounts.create
        show = DemoAccounts.show


    class HalfDriver(DemoDriver):
        def __init__(self, ctx):
            super().__init__(ctx)
            self.accounts = HalfAccounts(self)
            self.mailbox = None            # no mailbox capability at all
''')


def test_needs_are_found_per_step_through_helpers():
    needs = analyse_source(textwrap.dedent('''
        from segur_helpers.proof import step

        async def _helper(proof):
            await proof.driver.patients.search("x")

        @step(1, "un")
        async def one(proof):
            await proof.driver.accounts.create({})
            await _helper(proof)

        @step(2, "deux")
        async def two(proof):
            if proof.manual_evidence(2):
                return
            await proof.driver.mailbox.wait_for("a@b")
    '''))
    assert needs.by_step[1] == {("accounts", "create"), ("patients", "search")}
    assert needs.by_step[2] == {("mailbox", "wait_for")}
    assert needs.manual_aware == {2}
    assert ("mailbox", "wait_for") not in needs.required({2})


def test_check_catches_missing_methods_and_capability(tmp_path, write_params, demo_stack):
    stack = demo_stack()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "half_driver.py").write_text(BROKEN, encoding="utf-8")
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "pkg"), env.get("PYTHONPATH", "")])

    good = write_params(campaign_dict(stack.url, stack.maildir), "good.yaml")
    proc = run_segur("driver", "check", str(good), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "smoke    accounts: ok" in proc.stdout and "MISSING" not in proc.stdout

    bad = write_params(campaign_dict(stack.url, stack.maildir, driver="half_driver:HalfDriver"), "bad.yaml")
    proc = run_segur("driver", "check", str(bad), env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    missing = {l.split()[1] for l in lines if l.strip().startswith("MISSING")}
    assert missing == {"accounts.verify", "accounts.extract_verification", "mailbox.wait_for", "mailbox.messages"}
    assert any("accounts.verify" in l and "step 3" in l and "not implemented in HalfAccounts" in l for l in lines)
    assert any("mailbox.wait_for" in l and "no mailbox capability" in l for l in lines)
    assert any(l.strip().startswith("ok") and "accounts.create" in l for l in lines)
    assert "result: 4 problem(s)" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_check_reports_unreachable_target_and_bad_params(tmp_path, write_params):
    params = write_params(campaign_dict("http://127.0.0.1:9", tmp_path / "maildir"))
    proc = run_segur("driver", "check", str(params))
    assert proc.returncode == 1
    assert "cible injoignable" in proc.stdout and "smoke    accounts: not tried" in proc.stdout
    proc = run_segur("driver", "check", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2 and proc.stderr.startswith("error:") and "Traceback" not in proc.stderr
