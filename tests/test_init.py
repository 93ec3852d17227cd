"""`segur init`: neutral params and a driver skeleton for every capability the catalogue needs, made from
the contract's signatures and docstrings, which `driver check` reports as TODO until written."""
from __future__ import annotations

import importlib.util
import inspect
import json
import os
import re
import sys

import yaml

from conftest import ADMIN_PASSWORD, run_segur

SECRETS = {"DPI_ADMIN_PASSWORD": ADMIN_PASSWORD} | {
    name: f"{name.lower()}-secret" for name in ("OIDC_ADMIN_PASSWORD", "OIDC_USER_PASSWORD", "LDAP_ADMIN_PASSWORD",
                                                "PSC_ADMIN_PASSWORD", "PSC_USER_PASSWORD")}

FILLED = '''
"""A vendor who wrote the accounts capability (here: the demo's) on the skeleton's driver."""
from demo_dpi.driver import DemoAccounts
from hopital_logiciels_sa_driver import HopitalLogicielsSaDriver


class FilledDriver(HopitalLogicielsSaDriver):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.accounts = DemoAccounts(self)
        self._pro = None

    async def professional_page(self):
        if self._pro is None:
            self._pro = await self.own_page()
        return self._pro
'''


def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def test_init_writes_neutral_params_and_a_skeleton_of_every_needed_capability(tmp_path):
    from segur_helpers.drivers.contract import capability_interfaces
    from segur_helpers.params import load_campaign
    from segur_helpers.scaffold import capabilities_needed

    folder = tmp_path / "hopital-logiciels"
    proc = run_segur("init", str(folder), "--vendor", "Hôpital Logiciels SA")
    assert proc.returncode == 0, proc.stderr
    params, driver = folder / "campaign.yaml", folder / "hopital_logiciels_sa_driver.py"
    assert (folder / "manual" / "README.md").is_file()
    text = params.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=") and "params.schema.json" in text
    assert "driver_settings:" in text and "manual:" in text

    # neutral sample data: no demo host, domain, switch or secret name; professions and RPPS left to the product
    values = "\n".join(line.split("#")[0] for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"(?i)demo|démonstration|127\.0\.0\.1", values), values
    data = yaml.safe_load(text)
    ie31 = data["requirements"]["SSI/IE.31"]["data"]
    assert ie31["professional"]["rpps"] == "{rpps}" and ie31["control_professional"]["rpps"] == "{rpps:control}"
    assert {ie31["professional"]["profession"], ie31["control_professional"]["profession"]} == {
        "TODO profession telle que votre produit la nomme"}
    camp = load_campaign(params)
    from segur_helpers import catalog
    assert set(camp.requirements) == set(catalog.catalog())

    # one class per capability the catalogue's notebooks reach, with the contract's signatures and docstrings
    module = _load(driver)
    drv = module.HopitalLogicielsSaDriver
    interfaces = capability_interfaces()
    needed = capabilities_needed()
    assert {"accounts", "contact_changes", "account_review", "patients", "documents"} <= set(needed)
    source = driver.read_text(encoding="utf-8")
    for cap in needed:
        iface = interfaces[cap]
        (cls,) = [c for c in vars(module).values() if isinstance(c, type) and c.__name__.endswith(iface.__name__)
                  and c.__module__ == module.__name__]
        assert issubclass(cls, iface) and f"self.{cap} = {cls.__name__}(self)" in source
        for name in iface.__abstractmethods__:
            mine, theirs = getattr(cls, name), getattr(iface, name)
            assert getattr(mine, "__segur_todo__", False), (cap, name)
            assert list(inspect.signature(mine).parameters) == list(inspect.signature(theirs).parameters)
            assert inspect.getdoc(mine).strip() == inspect.getdoc(theirs).strip()
            assert inspect.iscoroutinefunction(mine) == inspect.iscoroutinefunction(theirs)
    assert drv.__init__ is not None

    # refused a second time: nothing is overwritten
    again = run_segur("init", str(folder))
    assert again.returncode == 2 and "not empty" in again.stderr and "Traceback" not in again.stderr

    # an unwritten skeleton: every method the notebooks call is TODO, naming the class to subclass
    env = os.environ.copy() | SECRETS
    check = run_segur("driver", "check", str(params), "--no-smoke", env=env)
    assert check.returncode == 1, check.stdout + check.stderr
    lines = [l for l in check.stdout.splitlines() if l.startswith("  ")]
    missing = [l for l in lines if l.strip().startswith("MISSING")]
    assert missing and all("TODO (segur init skeleton) in HopitalLogicielsSa" in l and
                           " from segur_helpers.drivers." in l for l in missing), missing
    ok = {l.split()[1] for l in lines if l.strip().startswith("ok")}
    assert ok <= {"mailbox.wait_for", "mailbox.messages", "sms.wait_for", "sms.messages", "documents.wait_dmp_state"}, ok


def test_skeleton_driver_runs_once_a_capability_is_written(tmp_path, demo_stack):
    folder = tmp_path / "hopital-logiciels"
    assert run_segur("init", str(folder), "--vendor", "Hôpital Logiciels SA").returncode == 0
    (folder / "filled_driver.py").write_text(FILLED, encoding="utf-8")
    stack = demo_stack()
    params = folder / "campaign.yaml"
    data = yaml.safe_load(params.read_text(encoding="utf-8"))
    data["target"] = {"url": stack.url, "admin": {"username": "admin", "password": "env:DPI_ADMIN_PASSWORD"}}
    data["mailbox"]["path"] = str(stack.maildir)
    data["allowed_dirs"] = [str(stack.workdir)]   # the test target's Maildir lives outside the vendor's folder
    data["driver"] = "filled_driver:FilledDriver"
    # the demo DPI's login form, described in driver_settings as any product's would be
    data["driver_settings"] = {"login_path": "/login", "username_field": "#username", "password_field": "#password",
                               "submit": "#login-submit", "logged_in": "#accounts"}
    ie31 = data["requirements"]["SSI/IE.31"]
    ie31["data"]["professional"]["profession"] = "Médecin"
    ie31["data"]["control_professional"]["profession"] = "Infirmier"
    data["requirements"] = {"SSI/IE.31": ie31}
    params.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = os.environ.copy() | SECRETS
    check = run_segur("driver", "check", str(params), env=env)
    assert check.returncode == 0, check.stdout + check.stderr

    out = tmp_path / "outputs"
    proc = run_segur("run", str(params), "--outputs", str(out), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(next(out.rglob("result.json")).read_text(encoding="utf-8"))
    assert result["verdict"] == "CONFORME" and result["vendor"] == "Hôpital Logiciels SA"

    # a setting left to fill in is named before any run
    data["driver_settings"]["logged_in"] = "TODO"
    params.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    check = run_segur("driver", "check", str(params), env=env)
    assert check.returncode == 1 and "driver_settings.logged_in is not filled in" in check.stdout, check.stdout


def test_lab_environment_sets_campaign_and_toolkit(tmp_path, write_params):
    from conftest import ROOT, campaign_dict
    from segur_helpers.scaffold import lab_environment

    params = write_params(campaign_dict("http://127.0.0.1:9", tmp_path / "m"))
    env = lab_environment(str(params))
    assert env["SEGUR_CAMPAIGN"] == str(params.resolve())
    assert str(ROOT) in env["PYTHONPATH"].split(os.pathsep)
    proc = run_segur("lab", str(tmp_path / "absent.yaml"))
    assert proc.returncode == 2 and "absent.yaml" in proc.stderr and "Traceback" not in proc.stderr
