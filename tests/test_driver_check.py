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


NO_REVIEW = textwrap.dedent('''
    from demo_dpi.driver import DemoDriver


    class NoReviewDriver(DemoDriver):
        def __init__(self, ctx):
            super().__init__(ctx)
            self.contact_changes = None
            self.account_review = None
''')


def test_check_names_the_interface_to_subclass_and_requires_only_what_each_notebook_calls(tmp_path, write_params):
    (tmp_path / "no_review_driver.py").write_text(NO_REVIEW, encoding="utf-8")
    only = ("SSI/IE.32", "SSI/IAM.87", "SSI/IAM.94")
    params = write_params(campaign_dict("http://127.0.0.1:9", tmp_path / "m", only=only,
                                        driver="no_review_driver:NoReviewDriver"))
    proc = run_segur("driver", "check", str(params), "--no-smoke")
    assert proc.returncode == 1 and "interface ?" not in proc.stdout, proc.stdout
    blocks, current = {}, None
    for line in proc.stdout.splitlines():
        if " — scenario module " in line:
            current = blocks.setdefault(line.split(" — ")[0], [])
        elif line.startswith("  ") and current is not None:
            current.append(line.split()[1])
            if line.strip().startswith("MISSING"):
                assert "subclass" in line and " from segur_helpers.drivers." in line, line
    assert any("contact_changes.request_change" in l and "subclass ContactChanges from segur_helpers.drivers.contact "
               "and set driver.contact_changes" in l for l in proc.stdout.splitlines())
    assert any("account_review.export" in l and "subclass AccountReview from segur_helpers.drivers.account_review"
               in l for l in proc.stdout.splitlines())
    review = {"account_count", "documentation", "to_frame"}
    assert set(blocks["SSI/IAM.87"]) == {f"account_review.{m}" for m in review | {"export"}}
    assert set(blocks["SSI/IAM.94"]) == {f"account_review.{m}" for m in review | {"request_extract", "receive_extract"}}
    assert "calls demander_extraction, controler_contenu, revue_des_comptes, documentation" in proc.stdout


def test_needs_follow_helpers_of_sibling_modules_and_the_capability_helper():
    from segur_helpers.catalog.needs import analyse_module

    mss = analyse_module("mss_conf_16")           # write_and_validate comes from _documents
    assert {("documents", "open_new"), ("documents", "save"), ("documents", "validate"),
            ("documents", "send_mss")} <= mss.by_step[1]
    review = analyse_module("ssi_iam_87_94", ["documentation"])
    assert review.by_step == {4: {("account_review", "documentation")}}
