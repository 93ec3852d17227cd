"""Bad input, as an attacker and as a clumsy user would give it: every case is refused cleanly.

"Clean" means: exit code 2, exactly one line on stderr (``error: …``) naming the file and the key (or the
option) and what was expected, no traceback, and nothing written — the case's whole folder (campaign,
outputs, run folders) is byte for byte what it was before.

The cases run through ``segur_helpers.cli.main`` in this process (the CLI's own entry point, at a few
milliseconds a case); ``test_the_real_cli_is_as_clean`` runs a sample through the real ``segur`` process.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from conftest import PASSWORD_ENV, ROOT, campaign_dict, run_segur

PARAMS = "campaign.yaml"
DIRECTORY = {"url": "ldaps://127.0.0.1:6636", "bind_dn": "cn=admin,dc=h,dc=test", "password": "env:DEMO_LDAP_X",
             "people_base": "ou=people,dc=h,dc=test", "groups_base": "ou=groups,dc=h,dc=test"}


# -- building a case -----------------------------------------------------------------------------------
class Ctx:
    """A case's folder: ``campaign/`` (the params file and its files) and ``out/`` (outputs)."""

    def __init__(self, root: Path):
        self.root = root
        self.dir = root / "campaign"
        self.dir.mkdir()
        self.out = root / "out"
        self.params = self.dir / PARAMS
        self.env: dict[str, str | None] = {}

    def data(self, only=("SSI/IE.31",)) -> dict:
        data = campaign_dict("http://127.0.0.1:9", self.dir / "maildir", only=only)
        data.pop("allowed_dirs", None)
        for entry in data["requirements"].values():      # the demo's directory CA lies outside this folder
            if "directory" in (entry.get("data") or {}):
                entry["data"]["directory"] = dict(DIRECTORY)
        return data

    def write(self, data: dict | str, name: str = PARAMS) -> Path:
        path = self.dir / name
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
        return path

    def run(self, data: dict | str | None = None, *extra: str) -> list[str]:
        if data is not None:
            self.write(data)
        return ["run", str(self.params), "--outputs", str(self.out), *extra]

    def just(self) -> dict:
        """The demo justification campaign, its attachments copied beside it."""
        import shutil
        shutil.copytree(ROOT / "params" / "justification", self.dir / "justification")
        with open(ROOT / "params" / "demo-justification.yaml", encoding="utf-8") as fh:
            return yaml.safe_load(fh)

    def fake_run(self, record, manifest=None, name="20260101T000000-abcd") -> Path:
        run = self.out / "test" / name
        run.mkdir(parents=True)
        (run / "run.json").write_text(record if isinstance(record, str) else json.dumps(record), encoding="utf-8")
        if manifest is not None:
            (run / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
        return run

    def record(self, **kw) -> dict:
        self.write(self.data())
        sha = hashlib.sha256(self.params.read_bytes()).hexdigest()
        return {"campaign": "test", "run_id": "20260101T000000-abcd", "params_path": str(self.params),
                "params_sha256": sha, "status": "interrupted", "scope": ["SSI/IE.31.01"], "proofs": [],
                "started": "2026-01-01T00:00:00+01:00", **kw}

    def driver_module(self, name: str, source: str) -> None:
        (self.dir / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")


def req(d: dict, rid: str = "SSI/IE.31") -> dict:
    return d["requirements"][rid]


def mutate(fn, only=("SSI/IE.31",)):
    """A case that runs the demo campaign (restricted to ``only``) after ``fn(data, ctx)`` changed it."""
    def build(c: Ctx):
        d = c.data(only)
        fn(d, c)
        return c.run(d)
    return build


def text(t: str):
    return lambda c: c.run(t)


def setk(path: str, value, only=("SSI/IE.31",)):
    """Set ``a.b.c`` (``/`` inside a key is kept: requirements|SSI/IE.31|data)."""
    parts = path.split("|")

    def fn(d, c):
        node = d
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return mutate(fn, only)


def delk(path: str, only=("SSI/IE.31",)):
    parts = path.split("|")

    def fn(d, c):
        node = d
        for p in parts[:-1]:
            node = node[p]
        del node[parts[-1]]
    return mutate(fn, only)


def data_of(rid: str, path: str, value):
    return setk(f"requirements|{rid}|data|{path}", value, only=(rid,))


def symlink_outside(name: str, target: str):
    def fn(c: Ctx) -> str:
        link = c.dir / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
        return name
    return fn


def justification(change, *, check: bool = False):
    """The demo justification campaign changed by ``change(data, ctx)``; run it, or ``justify --check`` it."""
    def build(c: Ctx):
        d = c.just()
        change(d, c)
        c.write(d)
        return ["justify", "--check", str(c.params)] if check else c.run()
    return build


def attachment(path_or_fn, *, check=False):
    def change(d, c):
        path = path_or_fn(c) if callable(path_or_fn) else path_or_fn
        d["requirements"]["SSI/IE.31"]["justification"]["attachments"].append({"path": path, "caption": "x"})
    return justification(change, check=check)


def manual(evidence, step=2, **extra):
    def fn(d, c):
        ev = evidence(c) if callable(evidence) else evidence
        req(d)["manual"] = {step: {"evidence": ev, **extra}}
    return mutate(fn)


def env_case(build, **env):
    def wrapped(c: Ctx):
        c.env.update(env)
        return build(c)
    return wrapped


def driver_case(source: str, *, command="run", spec_suffix="Driver"):
    def build(c: Ctx):
        name = "drv_" + hashlib.sha1(str(c.root).encode()).hexdigest()[:10]
        c.driver_module(name, source)
        d = c.data()
        d["driver"] = f"{name}:{spec_suffix}"
        c.write(d)
        return c.run() if command == "run" else ["driver", "check", str(c.params), "--no-smoke"]
    return build


def yaml_map(text_: str):
    def build(c: Ctx):
        c.write(text_, "map.yaml")
        d = c.data()
        d["driver"] = "yaml:map.yaml"
        return c.run(d)
    return build


def resume(record_fn, *, rerun=False):
    def build(c: Ctx):
        rec = record_fn(c)
        run = c.fake_run(rec)
        return ["rerun", str(run), "--failed"] if rerun else ["run", "--resume", str(run)]
    return build


def verify(manifest, *extra):
    def build(c: Ctx):
        run = c.fake_run({"campaign": "test", "run_id": "x", "status": "complete"}, manifest)
        args = [a(c) if callable(a) else a for a in extra]
        return ["verify", str(run), *args]
    return build


def locked(c: Ctx):
    from segur_helpers.batch.workdir import RunWork

    run = c.fake_run(c.record())
    c.hold = RunWork(run).acquire()      # another writer
    return ["run", "--resume", str(run)]


def garbage_key(c: Ctx) -> str:
    (c.dir / "garbage.pem").write_text("-----BEGIN PUBLIC KEY-----\nnot a key at all\n-----END PUBLIC KEY-----\n")
    return str(c.dir / "garbage.pem")


def xlsx_import(c: Ctx, out: str | None = None, what: str = "dir"):
    from openpyxl import Workbook
    wb = Workbook()
    wb.active.append(["nothing", "here"])
    wb.save(str(c.dir / "rem.xlsx"))
    if what == "dir":
        (c.dir / "already").mkdir()
        return ["catalog", "import", str(c.dir / "rem.xlsx"), "--out", str(c.dir / "already")]
    if what == "exists":
        (c.dir / "rem.json").write_text("{}")
        return ["catalog", "import", str(c.dir / "rem.xlsx"), "--out", str(c.dir / "rem.json")]
    return ["catalog", "import", str(c.dir / "rem.xlsx"), "--out", str(c.dir / "new.json")]


BOMB = "data_bomb:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"  {chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9))


def bomb(c: Ctx):
    d = c.data()
    text_ = yaml.safe_dump(d, allow_unicode=True)
    return c.run(text_ + BOMB)


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
GOOD_DRIVER = "from segur_helpers.drivers import Driver\nclass Driver(Driver):\n    pass\n"

# name: (build(ctx) -> argv, [needles in the error line]); the file is named by each needle list
CASES = {
    # -- the YAML itself -------------------------------------------------------------------------------
    "malformed yaml": (text("campaign: demo\nproduct: {name: x\n  version: [1\n"), [PARAMS, "malformed YAML", "line"]),
    "tab indentation": (text("campaign: demo\n\tvendor: x\n"), [PARAMS, "malformed YAML"]),
    "top level list": (text("- campaign: demo\n"), [PARAMS, "expected a YAML mapping", "got a list"]),
    "top level scalar": (text("just words\n"), [PARAMS, "expected a YAML mapping", "got a string"]),
    "empty file": (text(""), [PARAMS, "expected a YAML mapping", "got nothing"]),
    "two documents": (text("campaign: a\n---\ncampaign: b\n"), [PARAMS, "malformed YAML"]),
    "duplicate top-level key": (lambda c: c.run(yaml.safe_dump(c.data()) + "campaign: other\n"),
                                [PARAMS, ": campaign: duplicate key", "expected each key once"]),
    "duplicate nested key": (text("campaign: x\ntarget:\n  url: http://a.test\n  url: http://b.test\n"),
                             [PARAMS, ": url: duplicate key"]),
    "duplicate requirement": (text("requirements:\n  SSI/IE.31: {}\n  SSI/IE.31: {}\n"),
                              [PARAMS, "SSI/IE.31: duplicate key"]),
    "20000-deep list": (text("x: " + "[" * 20000 + "]" * 20000 + "\n"), [PARAMS, "nested deeper than 64"]),
    "deep mapping": (text("".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "v: 1\n"),
                     [PARAMS, "nested deeper than 64"]),
    "alias bomb in data": (bomb, [PARAMS, "alias", "expected a file without an alias bomb"]),
    "too many aliases": (text("a: &a x\nb: [" + ", ".join(["*a"] * 1100) + "]\n"), [PARAMS, "more than 1000 aliases"]),
    "file too large": (text("campaign: x\nfiller: '" + "x" * 2_100_000 + "'\n"), [PARAMS, "bytes", "at most"]),
    "not utf-8": (lambda c: (c.params.write_bytes(b"campaign: \xe9\xff\n"), c.run())[1], [PARAMS, "not UTF-8"]),
    "python object tag": (text("campaign: !!python/object/apply:os.system ['true']\n"),
                          [PARAMS, "malformed YAML", "constructor"]),
    "mapping as key": (text("? [a, b]\n: 1\n"), [PARAMS, "mapping key that is itself"]),
    "nul byte": (text("campaign: a\x00b\n"), [PARAMS, "malformed YAML"]),
    "params is a folder": (lambda c: (c.params.mkdir(), c.run())[1], [PARAMS, "is a folder"]),
    "params missing": (lambda c: c.run(), [PARAMS, "no such file"]),
    # -- keys, types and ranges (params.schema.json) -----------------------------------------------------
    "unknown key timeout": (setk("timeout", 30), [PARAMS, ": timeout: unknown key", "did you mean timeouts?"]),
    "unknown key vendeur": (setk("vendeur", "x"), [PARAMS, ": vendeur: unknown key", "expected one of"]),
    "missing campaign": (delk("campaign"), [PARAMS, ": campaign: missing", "campaign name"]),
    "missing vendor": (delk("vendor"), [PARAMS, ": vendor: missing", "vendor's name"]),
    "missing product": (delk("product"), [PARAMS, ": product: missing", "name and version"]),
    "missing operator": (delk("operator"), [PARAMS, ": operator: missing", "who runs"]),
    "missing target": (delk("target"), [PARAMS, ": target: missing", "url"]),
    "missing driver": (delk("driver"), [PARAMS, ": driver: missing"]),
    "missing requirements": (delk("requirements"), [PARAMS, ": requirements: missing", "requirement ids"]),
    "campaign name with spaces": (setk("campaign", "my campaign!"), [PARAMS, ": campaign:", "folder name"]),
    "campaign name a number": (setk("campaign", 42), [PARAMS, ": campaign: expected", "got an integer"]),
    "campaign name too long": (setk("campaign", "c" * 65), [PARAMS, ": campaign:", "at most 64"]),
    "campaign name path": (setk("campaign", "../../etc"), [PARAMS, ": campaign:", "folder name"]),
    "blank vendor": (setk("vendor", "  "), [PARAMS, ": vendor:", "vendor's name"]),
    "vendor a list": (setk("vendor", ["a"]), [PARAMS, ": vendor: expected", "got a list"]),
    "product a string": (setk("product", "Demo"), [PARAMS, ": product: expected a mapping", "got a string"]),
    "product without version": (delk("product|version"), [PARAMS, "product.version: missing"]),
    "product version a list": (setk("product|version", [1]), [PARAMS, "product.version: expected", "got a list"]),
    "product unknown key": (setk("product|editon", "x"), [PARAMS, "product.editon: unknown key"]),
    "blank operator": (setk("operator", ""), [PARAMS, ": operator:", "who runs"]),
    "target a string": (setk("target", "http://x.test"), [PARAMS, ": target: expected a mapping"]),
    "target without url": (delk("target|url"), [PARAMS, "target.url: missing", "http(s) URL"]),
    "target ftp url": (setk("target|url", "ftp://dpi.test"), [PARAMS, "target.url:", "http(s) URL"]),
    "target url a number": (setk("target|url", 8765), [PARAMS, "target.url: expected", "got an integer"]),
    "target.adminn typo": (setk("target|adminn", {"username": "x"}), [PARAMS, "target.adminn: unknown key",
                                                                    "did you mean admin?"]),
    "admin a list": (setk("target|admin", ["admin"]), [PARAMS, "target.admin: expected a mapping"]),
    "admin literal password": (setk("target|admin|password", "hunter2"), [PARAMS, "target.admin.password",
                                                                        "env:"]),
    "admin password a number": (setk("target|admin|password", 12345678), [PARAMS, "target.admin.password",
                                                                        "got an integer"]),
    "admin unknown key": (setk("target|admin|login", "x"), [PARAMS, "target.admin.login: unknown key"]),
    "driver spec": (setk("driver", "Not A Driver"), [PARAMS, ": driver:", "module:Driver"]),
    "driver a list": (setk("driver", ["demo"]), [PARAMS, ": driver: expected", "got a list"]),
    "driver_settings a list": (setk("driver_settings", [1]), [PARAMS, "driver_settings: expected a mapping"]),
    "dmp a string": (setk("dmp", "http://dmp.test"), [PARAMS, ": dmp: expected a mapping"]),
    "dmp url not a url": (setk("dmp|url", "dmp.test"), [PARAMS, "dmp.url:", "http(s) URL"]),
    "dmp unknown key": (setk("dmp|uri", "http://dmp.test"), [PARAMS, "dmp.uri: unknown key", "did you mean url?"]),
    "mailbox a list": (setk("mailbox", ["maildir"]), [PARAMS, ": mailbox: expected a mapping"]),
    "mailbox kind pop3": (setk("mailbox|kind", "pop3"), [PARAMS, "mailbox.kind:", "maildir or imap"]),
    "mailbox without kind": (delk("mailbox|kind"), [PARAMS, "mailbox.kind: missing"]),
    "maildir without path": (delk("mailbox|path"), [PARAMS, "mailbox.path: missing", "Maildir folder"]),
    "imap without host": (setk("mailbox", {"kind": "imap", "username": "u", "password": "env:X"}),
                          [PARAMS, "mailbox.host: missing"]),
    "imap without password": (setk("mailbox", {"kind": "imap", "host": "h", "username": "u"}),
                              [PARAMS, "mailbox.password: missing", "env:"]),
    "imap port out of range": (setk("mailbox", {"kind": "imap", "host": "h", "username": "u", "password": "env:X",
                                                "port": 70000}), [PARAMS, "mailbox.port:", "1 to 65535"]),
    "imap port a string": (setk("mailbox", {"kind": "imap", "host": "h", "username": "u", "password": "env:X",
                                            "port": "993"}), [PARAMS, "mailbox.port: expected"]),
    "imap ssl yes": (setk("mailbox", {"kind": "imap", "host": "h", "username": "u", "password": "env:X",
                                      "ssl": "yes"}), [PARAMS, "mailbox.ssl: expected true or false"]),
    "mailbox unknown key": (setk("mailbox|server", "x"), [PARAMS, "mailbox.server: unknown key"]),
    "imap literal password": (setk("mailbox", {"kind": "imap", "host": "h", "username": "u",
                                               "password": "s3cret-value"}), [PARAMS, "mailbox.password", "env:"]),
    "timeouts a list": (setk("timeouts", [1, 2]), [PARAMS, ": timeouts: expected a mapping", "got a list"]),
    "timeouts unknown key": (setk("timeouts|page_s", 3), [PARAMS, "timeouts.page_s: unknown key"]),
    "step_s zero": (setk("timeouts|step_s", 0), [PARAMS, "timeouts.step_s:", "out of range", "more than 0"]),
    "step_s negative": (setk("timeouts|step_s", -5), [PARAMS, "timeouts.step_s:", "out of range"]),
    "step_s 1e308 text": (lambda c: c.run(yaml.safe_dump(c.data()).replace("step_s: 90", "step_s: 1e308")),
                          [PARAMS, "timeouts.step_s: expected", "got a string"]),
    "step_s 1.0e308": (setk("timeouts|step_s", 1e308), [PARAMS, "timeouts.step_s:", "at most 86400"]),
    "mail_s inf": (lambda c: c.run(yaml.safe_dump(c.data()).replace("mail_s: 10", "mail_s: .inf")),
                   [PARAMS, "timeouts.mail_s:", "not a finite number"]),
    "proof_s nan": (setk("timeouts|proof_s", float("nan")), [PARAMS, "timeouts.proof_s:", "not a finite number"]),
    "proof_s a string": (setk("timeouts|proof_s", "600"), [PARAMS, "timeouts.proof_s: expected", "got a string"]),
    "step_s a boolean": (setk("timeouts|step_s", True), [PARAMS, "timeouts.step_s: expected", "got a boolean"]),
    "allow_non_test_patients yes": (setk("allow_non_test_patients", "yes"),
                                    [PARAMS, "allow_non_test_patients: expected true or false"]),
    "rem a number": (setk("rem", 3), [PARAMS, ": rem: expected", "REM catalogue"]),
    "rem missing file": (setk("rem", "demo.rem.json"), [PARAMS, ": rem: file not found"]),
    "rem outside": (setk("rem", "../../../../etc/passwd"), [PARAMS, ": rem:", "outside the campaign's folder"]),
    "allowed_dirs a string": (setk("allowed_dirs", "/tmp"), [PARAMS, "allowed_dirs: expected a list"]),
    "allowed_dirs root": (setk("allowed_dirs", ["/"]), [PARAMS, "allowed_dirs[0]:", "root of the file system"]),
    "not_secrets a string": (setk("not_secrets", "x"), [PARAMS, "not_secrets: expected a list"]),
    "signing key missing": (setk("signing", {"public_key": "keys/public.pem"}), [PARAMS, "signing.public_key",
                                                                                "file not found"]),
    "signing unknown key": (setk("signing", {"key": "x"}), [PARAMS, "signing.key: unknown key"]),
    "requirements empty": (setk("requirements", {}), [PARAMS, ": requirements: empty"]),
    "requirements a list": (setk("requirements", ["SSI/IE.31"]), [PARAMS, ": requirements: expected a mapping"]),
    "unknown requirement": (setk("requirements|SSI/IE.99", {}), [PARAMS, "requirements.SSI/IE.99",
                                                                "unknown requirement id"]),
    "requirement id shape": (setk("requirements|hello", {}), [PARAMS, "requirements.hello", "requirement id"]),
    "requirement a list": (setk("requirements|SSI/IE.31", ["x"]), [PARAMS, "requirements.SSI/IE.31: expected"]),
    "requirement a string": (setk("requirements|SSI/IE.31", "yes"), [PARAMS, "requirements.SSI/IE.31: expected"]),
    "same requirement twice": (mutate(lambda d, c: d["requirements"].update({"SC.SSI/IE.31": req(d)})),
                               [PARAMS, "requirements.SC.SSI/IE.31", "expected each requirement once"]),
    "condition_mett typo": (setk("requirements|SSI/IE.31|condition_mett", False),
                            [PARAMS, "requirements.SSI/IE.31.condition_mett: unknown key", "condition_met?"]),
    "condition_met yes": (setk("requirements|SSI/IE.31|condition_met", "yes"),
                          [PARAMS, "requirements.SSI/IE.31.condition_met: expected true or false"]),
    "requirement unknown key": (setk("requirements|SSI/IE.31|donnees", {}),
                                [PARAMS, "requirements.SSI/IE.31.donnees: unknown key"]),
    "data a list": (setk("requirements|SSI/IE.31|data", ["x"]), [PARAMS, "requirements.SSI/IE.31.data: expected a "
                                                                         "mapping", "got a list"]),
    "data a string": (setk("requirements|SSI/IE.31|data", "x"), [PARAMS, "requirements.SSI/IE.31.data: expected"]),
    # -- the data each scenario needs, types included (catalogue data_required) --------------------------
    "professional email missing": (delk("requirements|SSI/IE.31|data|professional|email"),
                                   [PARAMS, "requirements.SSI/IE.31.data.professional.email: missing", "e-mail"]),
    "professional a list": (data_of("SSI/IE.31", "professional", ["TESTSEGUR"]),
                            [PARAMS, "data.professional: expected a mapping with email, nom", "got a list"]),
    "professional missing": (delk("requirements|SSI/IE.31|data|professional"),
                             [PARAMS, "data.professional: missing; expected a mapping with"]),
    "email not an email": (data_of("SSI/IE.31", "professional|email", "camille"),
                           [PARAMS, "data.professional.email:", "not an e-mail address"]),
    "nom blank": (data_of("SSI/IE.31", "professional|nom", "   "), [PARAMS, "data.professional.nom:", "blank"]),
    "nom a mapping": (data_of("SSI/IE.31", "professional|nom", {"x": 1}),
                      [PARAMS, "data.professional.nom: expected", "got a mapping"]),
    "control professional a list": (data_of("SSI/IE.31", "control_professional", ["x"]),
                                    [PARAMS, "data.control_professional: expected", "got a list"]),
    "ie32 new_email missing": (lambda c: (lambda d: (req(d, "SSI/IE.32")["data"].pop("new_email"), c.run(d))[1])(
        c.data(("SSI/IE.32",))), [PARAMS, "requirements.SSI/IE.32.data.new_email: missing"]),
    "inactive_days text": (data_of("SSI/IAM.87", "inactive_days", "ninety"),
                           [PARAMS, "data.inactive_days: expected", "an integer"]),
    "inactive_days zero": (data_of("SSI/IAM.87", "inactive_days", 0), [PARAMS, "data.inactive_days:", "not positive"]),
    "inactive_days fraction": (data_of("SSI/IAM.87", "inactive_days", 1.5),
                               [PARAMS, "data.inactive_days: expected", "got a number"]),
    "requester a string": (data_of("SSI/IAM.94", "requester", "rssi"),
                           [PARAMS, "data.requester: expected a mapping with email, name"]),
    "period not a date": (data_of("STAT/ES 01.01", "period|from", "01/01/2026"),
                          [PARAMS, "data.period.from:", "YYYY-MM-DD"]),
    "oidc password literal": (data_of("SSI/IAM.80", "professional|password", "hunter2-hunter2"),
                              [PARAMS, "data.professional.password:", "env:NAME"]),
    "oidc issuer not a url": (data_of("SSI/IAM.80", "identity_provider|issuer", "idp"),
                              [PARAMS, "data.identity_provider.issuer:", "not a URL"]),
    "directory url not a url": (data_of("SSI/IAM.83", "directory", dict(DIRECTORY, url="slapd")),
                                [PARAMS, "data.directory.url:", "not a URL"]),
    "directory ca_file outside": (data_of("SSI/IAM.83", "directory", dict(DIRECTORY, ca_file="/etc/ssl/x.pem")),
                                  [PARAMS, "data.directory.ca_file:", "outside the campaign's folder"]),
    "person changes a list": (data_of("SSI/IAM.83", "person|changes", ["sn"]),
                              [PARAMS, "data.person.changes: expected", "got a list"]),
    "groups keep a string": (data_of("SSI/IAM.85", "groups|keep", "dpi-medecins"),
                             [PARAMS, "data.groups.keep: expected", "got a string"]),
    "cancelled_cases a mapping": (data_of("DMP/ALI/PROG.01", "cancelled_cases", {"a": 1}),
                                  [PARAMS, "data.cancelled_cases: expected", "got a mapping"]),
    "dmp_wait_s nan": (data_of("DMP/ALI/PROG.01", "dmp_wait_s", float("nan")),
                       [PARAMS, "data.dmp_wait_s:", "not a finite number"]),
    "dmp_wait_s negative": (data_of("DMP/ALI/PROG.01", "dmp_wait_s", -3), [PARAMS, "data.dmp_wait_s:", "not positive"]),
    "new_documents empty": (data_of("DMP/UX.15", "new_documents", []), [PARAMS, "data.new_documents:", "empty list"]),
    "birth date format": (data_of("CDA/DD.05", "patient|naissance", "05/17/2014"),
                          [PARAMS, "data.patient.naissance:", "YYYY-MM-DD"]),
    "document a list": (data_of("HOP VA 1.04", "document", ["x"]), [PARAMS, "data.document: expected a mapping"]),
    # -- justifications: no file from outside the campaign, structure, dates -----------------------------
    "attachment ../../../etc/passwd (run)": (attachment("../../../etc/passwd"),
                                             [PARAMS, "justification.attachments[2]", "outside the campaign's folder"]),
    "attachment /etc/shadow (check)": (attachment("/etc/shadow", check=True),
                                       [PARAMS, "justification.attachments[2]", "outside the campaign's folder"]),
    "attachment symlink out (check)": (attachment(symlink_outside("justification/lien.txt", "/etc/passwd"),
                                                  check=True), [PARAMS, "attachments[2]", "symbolic links"]),
    "attachment symlinked folder (run)": (attachment(lambda c: symlink_outside("etc", "/etc")(c) + "/passwd"),
                                          [PARAMS, "attachments[2]", "outside the campaign's folder"]),
    "attachment as a string (check)": (justification(lambda d, c: req(d)["justification"].update(attachments="x"),
                                                     check=True), [PARAMS, "justification.attachments: expected"]),
    "attachment a number (run)": (justification(lambda d, c: req(d)["justification"]["attachments"].append(7)),
                                  [PARAMS, "justification.attachments[2]: expected a file path"]),
    "justification missing explanation": (justification(lambda d, c: req(d)["justification"].pop("explanation")),
                                          [PARAMS, "justification.explanation", "missing explanation"]),
    "justification unknown key": (justification(lambda d, c: req(d)["justification"].update(signataire="x")),
                                  [PARAMS, "justification.signataire: unknown key"]),
    "justification expired": (justification(lambda d, c: req(d)["justification"].update(
        date="2020-01-01", expires="2021-01-01")), [PARAMS, "justification.expires", "expired"]),
    "signatory a string": (justification(lambda d, c: req(d)["justification"].update(signatory="Claire")),
                           [PARAMS, "justification.signatory: expected a mapping"]),
    "date not a date": (justification(lambda d, c: req(d)["justification"].update(date="hier")),
                        [PARAMS, "justification.date", "not a date"]),
    "justification while condition met": (justification(lambda d, c: req(d).update(condition_met=True)),
                                          [PARAMS, "requirements.SSI/IE.31.justification", "condition_met is true"]),
    "unmet condition, not conditional": (setk("requirements|DMP/ALI/PROG.01|condition_met", False,
                                              only=("DMP/ALI/PROG.01",)),
                                         [PARAMS, "DMP/ALI/PROG.01.condition_met", "not conditional"]),
    # -- manual steps ---------------------------------------------------------------------------------------
    "manual evidence ../../../etc/passwd": (manual("../../../etc/passwd"),
                                            [PARAMS, "manual.2.evidence", "outside the campaign's folder"]),
    "manual evidence absolute": (manual("/etc/passwd"), [PARAMS, "manual.2.evidence", "outside"]),
    "manual evidence symlink": (manual(symlink_outside("manuel/etape-2.eml", "/etc/passwd")),
                                [PARAMS, "manual.2.evidence", "symbolic links"]),
    "manual evidence list item outside": (manual(["manuel/a.eml", "/etc/hosts"]),
                                          [PARAMS, "manual.2.evidence[1]", "outside"]),
    "manual step without manual mode": (manual("a.png", step=1), [PARAMS, "manual.1", "no manual mode"]),
    "manual step that does not exist": (manual("a.png", step=9), [PARAMS, "manual.9", "no such step"]),
    "manual unknown key": (manual("a.eml", note="x"), [PARAMS, "manual.2.note: unknown key"]),
    "manual without evidence": (setk("requirements|SSI/IE.31|manual", {2: {"attestation": {"by": "x"}}}),
                                [PARAMS, "manual.2.evidence: missing"]),
    "attestation unknown key": (manual("a.eml", attestation={"who": "x"}), [PARAMS, "attestation.who: unknown key"]),
    "manual a list": (setk("requirements|SSI/IE.31|manual", [2]), [PARAMS, "manual: expected a mapping"]),
    "manual evidence empty list": (manual([]), [PARAMS, "manual.2.evidence: empty", "the operator supplies"]),
    # -- secrets: by key name and by value shape ----------------------------------------------------------
    "passwd in data": (data_of("SSI/IE.31", "passwd", "hunter2"), [PARAMS, "data.passwd", "env:"]),
    "pwd in driver_settings": (setk("driver_settings", {"pwd": "hunter2"}), [PARAMS, "driver_settings.pwd", "env:"]),
    "token in data": (data_of("SSI/IE.31", "token", "abc"), [PARAMS, "data.token", "env:"]),
    "api_key in driver_settings": (setk("driver_settings", {"api_key": 1234}), [PARAMS, "driver_settings.api_key"]),
    "mot_de_passe in data": (data_of("SSI/IE.31", "mot_de_passe", "x"), [PARAMS, "data.mot_de_passe", "env:"]),
    "passwords list": (setk("driver_settings", {"passwords": ["a", "b"]}), [PARAMS, "driver_settings.passwords[0]"]),
    "JWT under any key": (data_of("SSI/IE.31", "reference", JWT), [PARAMS, "data.reference", "JSON Web Token",
                                                                    "not_secrets"]),
    "github token shape": (setk("driver_settings", {"note": "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"}),
                           [PARAMS, "driver_settings.note", "API token"]),
    "url with a password": (setk("driver_settings", {"relay": "imap://bob:Sup3rS3cret@mail.test"}),
                            [PARAMS, "driver_settings.relay", "URL with a password"]),
    "random password shape": (setk("driver_settings", {"code_acces": "Kj8#mQ2$vL9pX4nR"}),
                              [PARAMS, "driver_settings.code_acces", "random-looking"]),
    "pem private key": (setk("driver_settings", {"cle": PEM}), [PARAMS, "driver_settings.cle", "PEM private key"]),
    "bearer value": (setk("driver_settings", {"header": "Bearer abcdef0123456789"}),
                     [PARAMS, "driver_settings.header", "Authorization"]),
    "url access_token": (setk("driver_settings", {"lien": "https://x.test/cb?access_token=abcdef123456"}),
                         [PARAMS, "driver_settings.lien", "credential in its query"]),
    "secret variable unset": (env_case(lambda c: c.run(c.data()), **{PASSWORD_ENV: None}),
                              [PARAMS, "target.admin.password", PASSWORD_ENV, "unset"]),
    "secret variable too short": (env_case(lambda c: c.run(c.data()), **{PASSWORD_ENV: "abc"}),
                                  [PARAMS, "target.admin.password", "at least 8"]),
    # -- files named by the campaign: inside its folder -----------------------------------------------------
    "maildir outside": (setk("mailbox|path", "/var/mail"), [PARAMS, "mailbox.path", "outside the campaign's folder"]),
    "maildir via symlink": (mutate(lambda d, c: d["mailbox"].update(path=symlink_outside("boite", "/var")(c))),
                            [PARAMS, "mailbox.path", "symbolic links"]),
    "imap ca_file outside": (setk("mailbox", {"kind": "imap", "host": "h", "username": "u", "password": "env:"
                                              + PASSWORD_ENV, "ca_file": "/etc/ssl/certs/ca-certificates.crt"}),
                             [PARAMS, "mailbox.ca_file", "outside"]),
    "imap ca_file missing": (setk("mailbox", {"kind": "imap", "host": "h", "username": "u", "password": "env:"
                                              + PASSWORD_ENV, "ca_file": "ca.pem"}),
                             [PARAMS, "mailbox.ca_file", "file not found"]),
    # -- drivers: importable in every way, complete ---------------------------------------------------------
    "driver syntax error (run)": (driver_case("def broken(:\n    pass\n"), [PARAMS, ": driver:", "syntax error"]),
    "driver syntax error (check)": (driver_case("def broken(:\n    pass\n", command="check"),
                                    [PARAMS, ": driver:", "syntax error"]),
    "driver raises at import (run)": (driver_case("raise RuntimeError('boom at import')\n"),
                                      [PARAMS, ": driver:", "RuntimeError: boom at import"]),
    "driver raises at import (check)": (driver_case("import nosuchthing_xyz\n", command="check"),
                                        [PARAMS, ": driver:", "cannot import"]),
    "driver exits at import": (driver_case("import sys\nsys.exit(3)\n"), [PARAMS, ": driver:", "SystemExit"]),
    "driver class missing": (driver_case(GOOD_DRIVER, spec_suffix="Nope"), [PARAMS, ": driver:", "not a subclass"]),
    "driver not a Driver": (driver_case("class Driver:\n    pass\n"), [PARAMS, ": driver:", "not a subclass"]),
    "driver abstract capability": (driver_case('''
        from segur_helpers.drivers import Accounts, Driver as Base

        class HalfAccounts(Accounts):
            async def create(self, professional):
                return None

        class Driver(Base):
            def __init__(self, ctx):
                super().__init__(ctx)
                self.accounts = HalfAccounts(self)
        '''), [PARAMS, ": driver:", "HalfAccounts", "abstract", "extract_verification"]),
    "driver name unknown": (setk("driver", "nosuch"), [PARAMS, ": driver:", "unknown driver"]),
    "driver module missing": (setk("driver", "nosuchpkg.drv:Driver"), [PARAMS, ": driver:", "nosuchpkg.drv"]),
    "yaml map missing": (setk("driver", "yaml:map.yaml"), [PARAMS, ": driver:", "map.yaml not found"]),
    "yaml map duplicate key": (yaml_map("accounts:\n  show: {url: /a}\n  show: {url: /b}\n"),
                               ["map.yaml", "show: duplicate key"]),
    "yaml map unknown key": (yaml_map("accounts:\n  show: {steps: [{goto: /a}], colour: red}\n"), ["map.yaml", "colour",
                                                                                     "unknown key"]),
    "yaml map a list": (yaml_map("- login\n"), ["map.yaml", "expected a mapping"]),
    # -- command-line options -----------------------------------------------------------------------------
    "workers 100000": (lambda c: c.run(c.data(), "--workers", "100000"), ["--workers", "1 to 64"]),
    "workers 0": (lambda c: c.run(c.data(), "--workers", "0"), ["--workers", "1 to 64"]),
    "workers abc": (lambda c: c.run(c.data(), "--workers", "abc"), ["--workers", "whole number"]),
    "only unknown": (lambda c: c.run(c.data(), "--only", "SSI/IAM.94"), ["--only", "SSI/IAM.94"]),
    "family selects nothing": (lambda c: c.run(c.data(), "--family", "NOPE"), ["--family NOPE"]),
    "dask without scheduler": (lambda c: c.run(c.data(), "--executor", "dask"), ["--scheduler", "missing"]),
    "executor unknown": (lambda c: c.run(c.data(), "--executor", "slurm"), ["--executor", "invalid choice"]),
    "sign key missing": (lambda c: c.run(c.data(), "--sign-key", str(c.dir / "k.pem")), ["k.pem", "--sign-key"]),
    "sign key garbage": (lambda c: ((c.dir / "k.pem").write_text("nope"), c.run(c.data(), "--sign-key",
                                                                                 str(c.dir / "k.pem")))[1],
                         ["k.pem", "--sign-key", "openssl cannot read it"]),
    "max-age-days zero": (lambda c: ["status", "--outputs", str(c.root), "--max-age-days", "0"], ["--max-age-days"]),
    "max-age-days nan": (lambda c: ["status", "--outputs", str(c.root), "--max-age-days", "nan"], ["--max-age-days"]),
    "unknown command": (lambda c: ["frobnicate"], ["invalid choice: 'frobnicate'"]),
    "run without params": (lambda c: ["run", "--outputs", str(c.out)], ["PARAMS", "missing"]),
    "resume with params too": (lambda c: ["run", str(c.params), "--resume", "x"], ["--resume", "takes only"]),
    # -- run folders: resume, rerun, verify, bundle --------------------------------------------------------
    "resume no such run": (lambda c: ["run", "--resume", str(c.root / "nope")], ["nope", "expected a run folder"]),
    "resume run.json not json": (resume(lambda c: "{not json"), ["run.json", "not JSON"]),
    "resume run.json a list": (resume(lambda c: "[]"), ["run.json", "expected a JSON object", "list"]),
    "resume run.json without params_path": (resume(lambda c: {k: v for k, v in c.record().items()
                                                              if k != "params_path"}),
                                            ["run.json", "params_path: missing"]),
    "resume proofs without scenario": (resume(lambda c: c.record(proofs=[{"verdict": "CONFORME"}])),
                                       ["run.json", "proofs[0].scenario: missing"]),
    "resume scope not a list": (resume(lambda c: c.record(scope="SSI/IE.31.01")), ["run.json", "scope: expected a list"]),
    "rerun run.json not json": (resume(lambda c: "]", rerun=True), ["run.json", "not JSON"]),
    "rerun proofs without scenario": (resume(lambda c: c.record(status="complete", proofs=[{"verdict": "ERREUR"}]),
                                             rerun=True), ["run.json", "proofs[0].scenario"]),
    "resume after the params changed": (resume(lambda c: c.record(params_sha256="0" * 64)),
                                        [PARAMS, "changed since the run started", "start a new run"]),
    "resume while another writer runs": (locked, ["20260101T000000-abcd", "another segur process", "one writer"]),
    "rerun of an unsealed run": (resume(lambda c: c.record(status="complete"), rerun=True),
                                 ["20260101T000000-abcd", "not sealed", "--resume"]),
    "verify manifest files a list": (verify({"algorithm": "sha256", "files": []}), ["manifest.json", "files:",
                                                                                   "mapping of file"]),
    "verify manifest not json": (verify("{"), ["manifest.json", "not JSON"]),
    "verify manifest bad digest": (verify({"files": {"run.json": "abc"}}), ["manifest.json", "files:"]),
    "verify garbage pubkey": (verify({"files": {}}, "--pubkey", garbage_key),
                              ["garbage.pem", "--pubkey", "clé publique illisible"]),
    "verify pubkey missing": (verify({"files": {}}, "--pubkey", lambda c: str(c.dir / "none.pem")),
                              ["none.pem", "--pubkey", "no such file"]),
    "verify not a run": (lambda c: ["verify", str(c.dir)], ["campaign", "expected a run folder"]),
    "bundle manifest a list": (lambda c: ["bundle", str(c.fake_run({"status": "complete"}, manifest="[]")),
                                          "--out", str(c.root / "b")], ["manifest.json", "expected a JSON object"]),
    "catalog import --out a folder": (lambda c: xlsx_import(c, what="dir"), ["already", "--out", "is a folder"]),
    "catalog import --out exists": (lambda c: xlsx_import(c, what="exists"), ["rem.json", "--replace"]),
    "catalog import not a workbook": (lambda c: ((c.dir / "x.xlsx").write_text("no"), [
        "catalog", "import", str(c.dir / "x.xlsx"), "--out", str(c.dir / "r.json")])[1], ["x.xlsx", "Excel"]),
    "catalog import unknown layout": (lambda c: xlsx_import(c, what="new"), ["rem.xlsx"]),
    "justify --check missing params": (lambda c: ["justify", "--check", str(c.params)], [PARAMS, "no such file"]),
    "catalog show unknown id": (lambda c: ["catalog", "show", "SSI/IE.99"], ["ID", "SSI/IE.99"]),
}


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_the_corpus_has_at_least_130_cases():
    assert len(CASES) >= 130, len(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_cleanly(name, tmp_path, capsys, monkeypatch):
    from segur_helpers.cli import main

    build, needles = CASES[name]
    monkeypatch.setattr(sys, "dont_write_bytecode", True)      # importing a driver writes no __pycache__
    c = Ctx(tmp_path)
    argv = build(c)
    for key, value in c.env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    before = _snapshot(tmp_path)
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2, (code, captured.out, captured.err)
    assert "Traceback" not in captured.err + captured.out
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: "), lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert _snapshot(tmp_path) == before, "something was written for bad input"
    if hasattr(c, "hold"):
        c.hold.release()


def test_alias_bomb_is_refused_before_anything_is_expanded(tmp_path, monkeypatch):
    """The bomb expands to 9¹⁰ values. It must be refused from its node graph: no value is ever built.
    A hang guard (not a speed test) turns a regression that expands it into a failure, not a stuck run."""
    import threading

    from segur_helpers import yamlsafe
    from segur_helpers.errors import UserError
    from segur_helpers.params import load_campaign

    built = []
    real = yamlsafe.StrictLoader.construct_document
    monkeypatch.setattr(yamlsafe.StrictLoader, "construct_document",
                        lambda self, node: built.append(node) or real(self, node))
    c = Ctx(tmp_path)
    bomb(c)
    outcome: list[BaseException | None] = []

    def load():
        try:
            load_campaign(c.params)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread below
            outcome.append(exc)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert outcome, "the alias bomb was still being loaded after 60 s"
    assert isinstance(outcome[0], UserError) and "alias bomb" in str(outcome[0]), outcome[0]
    assert built == [], "the document was constructed before the alias bomb was refused"


def test_not_secrets_lets_a_value_that_only_looks_like_one(tmp_path):
    from segur_helpers.params import load_campaign

    c = Ctx(tmp_path)
    d = c.data()
    req(d)["data"]["reference"] = JWT
    d["not_secrets"] = ["requirements.SSI/IE.31.data.reference"]
    c.write(d)
    assert load_campaign(c.params).requirements["SSI/IE.31"]["data"]["reference"] == JWT


def test_files_inside_an_allowed_folder_are_accepted(tmp_path):
    """``allowed_dirs`` opens one more folder; a symbolic link into it counts as inside, one out of it not."""
    from segur_helpers.params import load_campaign

    c = Ctx(tmp_path)
    shared = tmp_path / "shared-evidence"
    shared.mkdir()
    (shared / "etape-2.eml").write_text("x")
    d = c.data()
    d["allowed_dirs"] = ["../shared-evidence"]
    req(d)["manual"] = {2: {"evidence": "../shared-evidence/etape-2.eml"}}
    c.write(d)
    assert load_campaign(c.params).requirements["SSI/IE.31"]["manual"][2]["evidence"]


def test_the_real_cli_is_as_clean(tmp_path):
    """A sample of the corpus through the real ``segur`` process: exit code, stderr, nothing written."""
    for name in ("duplicate top-level key", "20000-deep list", "driver raises at import (run)", "workers 100000",
                 "verify manifest files a list", "resume run.json a list", "attachment /etc/shadow (check)"):
        root = tmp_path / name.replace(" ", "_").replace("/", "_")
        root.mkdir()
        c = Ctx(root)
        build, needles = CASES[name]
        argv = build(c)
        before = _snapshot(root)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        proc = run_segur(*argv, env=env)
        assert proc.returncode == 2, (name, proc.stderr)
        assert "Traceback" not in proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and all(n in lines[0] for n in needles), (name, proc.stderr)
        assert _snapshot(root) == before, name


def test_no_crash_exits_1(tmp_path, monkeypatch, capsys):
    """Exit 1 is NON CONFORME's: an unexpected failure is one line and exit 2."""
    from segur_helpers import cli

    def boom(args):
        raise RuntimeError("an unexpected failure\nwith a second line")
    monkeypatch.setattr(cli, "_cmd_list", boom)
    assert cli.main(["list"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unexpected failure: RuntimeError" in err[0]
    # the subprocess boundary too
    proc = subprocess.run([sys.executable, "-c", "import sys; from segur_helpers import cli; "
                           "cli._cmd_status = lambda a: 1/0; sys.exit(cli.main(['status', '--outputs', '/']))"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "ZeroDivisionError" in proc.stderr and "Traceback" not in proc.stderr


def test_a_manual_file_answered_inline_stays_inside_the_campaign(tmp_path, monkeypatch):
    """In JupyterLab a missing manual evidence file is asked inline: the answer is confined like the params."""
    from types import SimpleNamespace

    from segur_helpers import manual
    from segur_helpers.errors import ManualEvidenceMissing
    from segur_helpers.params import load_campaign

    c = Ctx(tmp_path)
    c.write(c.data())
    proof = SimpleNamespace(campaign=load_campaign(c.params), recorder=SimpleNamespace(show=lambda *a, **k: None))
    expected = c.dir / "etape-2.eml"
    monkeypatch.setattr(manual, "_ask", lambda prompt: "../../../etc/passwd")
    with pytest.raises(ManualEvidenceMissing, match="hors du dossier de la campagne"):
        manual._interactive_fill(proof, 2, {"title": "x", "paths": [expected], "attestation": {}}, [expected])
