"""The no-code YAML driver: an ordered step language that reproduces the Python demo driver's verdicts on
the demo DPI, names the map, action, step and selector of any failure, and whose actions `driver check`
really exercises."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ADMIN_PASSWORD, ROOT, campaign_dict, run_segur
from segur_helpers.errors import UserError

MAP = ROOT / "params" / "demo-dpi-map.yaml"


def yaml_campaign(url: str, maildir: Path, only: tuple[str, ...] = ("SSI/IE.31",), map_file: Path = MAP,
                  params: str = "demo-yaml-driver.yaml") -> dict:
    """The shipped YAML-driver campaign pointed at a test target, restricted to ``only``."""
    with open(ROOT / "params" / params, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert data["driver"].startswith("yaml:")
    data.update(campaign="test-yaml", driver=f"yaml:{map_file}", timeouts={"mail_s": 10, "step_s": 90})
    data["target"]["url"] = url
    data["mailbox"]["path"] = str(maildir)
    data["sms"]["path"] = str(Path(maildir).parent / "sms")      # the demo stack's SMS gateway
    data["requirements"] = {k: v for k, v in data["requirements"].items() if k in only}
    assert set(data["requirements"]) == set(only)
    return data


def outcomes(tmp_path: Path, write_params, data: dict, name: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / f"out-{name}"
    proc = run_segur("run", str(write_params(data, f"{name}.yaml")), "--outputs", str(out))
    results = {}
    for f in out.rglob("result.json"):
        r = json.loads(f.read_text(encoding="utf-8"))
        results[r["requirement"]] = r
    return proc, results


def checks(result: dict) -> list[tuple]:
    return [(c["step"], c["label"], c["passed"]) for c in result["checks"]]


def evidence_kinds(result: dict) -> list[tuple]:
    return [(e["step"], e["kind"]) for e in result["evidence"]]


@pytest.mark.parametrize("defects", [(), ("SSI/IE.31",)], ids=["compliant", "defect"])
def test_yaml_driver_gives_the_python_driver_verdicts(tmp_path, write_params, demo_stack, admin_password, defects):
    stack = demo_stack(defects=defects)
    proc_py, py = outcomes(tmp_path, write_params, campaign_dict(stack.url, stack.maildir), "python")
    proc_ym, ym = outcomes(tmp_path, write_params, yaml_campaign(stack.url, stack.maildir), "yaml")
    py, ym = py["SSI/IE.31"], ym["SSI/IE.31"]
    assert py["verdict"] == ("NON CONFORME" if defects else "CONFORME")
    assert (proc_ym.returncode, ym["verdict"]) == (proc_py.returncode, py["verdict"]), proc_ym.stderr
    assert ym["driver"].startswith("yaml:") and py["driver"] == "demo"
    assert checks(ym) == checks(py)
    assert evidence_kinds(ym) == evidence_kinds(py)
    for f in (tmp_path / "out-yaml").rglob("*"):
        if f.is_file():
            assert admin_password.encode() not in f.read_bytes(), f


DOCUMENTS = ("DMP/CONF.04", "MSS/CONF.16")


@pytest.mark.parametrize("defects", [(), DOCUMENTS], ids=["compliant", "defects"])
def test_classic_map_drives_documents_as_the_python_driver_does(tmp_path, write_params, demo_stack, defects):
    """The map's documents section: write, save, validate, download the CDA, send through MSSanté; the same
    verdicts, checks and evidence as the Python demo driver, compliant and under both documents' defects."""
    stack = demo_stack(defects=defects)
    if not defects:     # driver check runs the documents actions' first steps that change nothing
        check = run_segur("driver", "check", str(write_params(yaml_campaign(stack.url, stack.maildir, DOCUMENTS),
                                                               "check.yaml")))
        assert check.returncode == 0, check.stdout + check.stderr
        smoke = next(line for line in check.stdout.splitlines() if line.startswith("smoke    documents:"))
        for said in ("open_new: steps 1-2 ran", "show: step 1 needs {id}, given only by a run",
                     "documentation_entry: steps 1-2 ran"):
            assert said in smoke, smoke
    proc_py, py = outcomes(tmp_path, write_params, campaign_dict(stack.url, stack.maildir, DOCUMENTS), "python")
    proc_ym, ym = outcomes(tmp_path, write_params, yaml_campaign(stack.url, stack.maildir, DOCUMENTS), "yaml")
    expected = "NON CONFORME" if defects else "CONFORME"
    assert {r: py[r]["verdict"] for r in DOCUMENTS} == dict.fromkeys(DOCUMENTS, expected), proc_py.stdout
    assert {r: ym[r]["verdict"] for r in DOCUMENTS} == dict.fromkeys(DOCUMENTS, expected), proc_ym.stdout + proc_ym.stderr
    assert proc_ym.returncode == proc_py.returncode
    for r in DOCUMENTS:
        assert ym[r]["driver"].startswith("yaml:") and py[r]["driver"] == "demo"
        assert checks(ym[r]) == checks(py[r]), r
        assert evidence_kinds(ym[r]) == evidence_kinds(py[r]), r
    # the CDA kept is the file the user downloads, byte for byte what the target serves
    cda = next((tmp_path / "out-yaml").rglob("*-document-*-cda.xml"))
    doc_id = cda.name.split("-document-")[1].split("-")[0]
    assert cda.read_bytes() == _get_as_admin(stack, f"/documents/{doc_id}/cda.xml")


def _get_as_admin(stack, path: str) -> bytes:
    """GET a page of the demo DPI as its administrator (a session of its own, through the login form)."""
    import http.cookiejar
    import urllib.parse
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = urllib.parse.urlencode({"username": "admin", "password": ADMIN_PASSWORD})
    opener.open(stack.url + "/login", data=form.encode())
    with opener.open(stack.url + path) as response:
        return response.read()


def test_classic_map_drives_contact_changes_and_the_account_review(tmp_path, write_params, demo_stack):
    stack = demo_stack()
    only = ("SSI/IE.32", "SSI/IAM.87", "SSI/IAM.94")
    proc, results = outcomes(tmp_path, write_params, yaml_campaign(stack.url, stack.maildir, only), "yaml")
    assert {r: results[r]["verdict"] for r in only} == dict.fromkeys(only, "CONFORME"), proc.stdout + proc.stderr
    assert proc.returncode == 0


def test_a_failing_step_is_named_in_the_cli_the_result_and_the_proof(tmp_path, write_params, demo_stack,
                                                                    admin_password):
    stack = demo_stack()
    data = yaml.safe_load(MAP.read_text(encoding="utf-8"))
    data["settings"]["timeout_s"] = 2
    data["accounts"]["create"]["steps"][2]["fill"] = {"#nom": "{nom}", "#rpps-renamed": "{rpps}"}
    broken = tmp_path / "broken-map.yaml"
    broken.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    proc, results = outcomes(tmp_path, write_params, yaml_campaign(stack.url, stack.maildir, map_file=broken), "broken")
    r = results["SSI/IE.31"]
    assert r["verdict"] == "ERREUR" and proc.returncode == 2
    said = "broken-map.yaml: accounts.create, step 3 (fill '#nom, #rpps-renamed')"
    line = next(l for l in proc.stderr.splitlines() if "ERREUR" in l)
    assert said in line and "#rpps-renamed" in line, proc.stderr
    assert said in r["error"]["message"]
    assert r["error"]["where"] == {"map": "broken-map.yaml", "action": "accounts.create", "step": "3",
                                   "kind": "fill", "selector": "#nom, #rpps-renamed"}
    shots = [e for e in r["evidence"] if e["kind"] == "screenshot" and "au moment de l'échec" in e["caption"]]
    assert len(shots) == 1 and shots[0]["step"] == 1
    pdf = next((tmp_path / "out-broken").rglob("SSI_IE.31.01.pdf"))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    assert "broken-map.yaml" in flat and "#rpps-renamed" in flat and "accounts.create" in flat
    assert "Écran au moment de l'échec" in flat
    for f in (tmp_path / "out-broken").rglob("*"):
        if f.is_file():
            assert admin_password.encode() not in f.read_bytes(), f


def test_bad_map_is_one_line_naming_map_and_key(tmp_path, write_params):
    params_for = lambda name: write_params(campaign_dict("http://127.0.0.1:9", tmp_path / "m",  # noqa: E731
                                                         driver=f"yaml:{name}"), f"p-{name}.yaml")

    def refused(map_data, expected_key: str, expected: str) -> None:
        (tmp_path / "map.yaml").write_text(yaml.safe_dump(map_data, allow_unicode=True), encoding="utf-8")
        proc = run_segur("run", str(params_for("map.yaml")), "--outputs", str(tmp_path / "out"))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "map.yaml" in lines[0] and expected_key in lines[0] and expected in lines[0], lines
        assert not (tmp_path / "out").exists()

    good = yaml.safe_load(MAP.read_text(encoding="utf-8"))
    bad = yaml.safe_load(MAP.read_text(encoding="utf-8"))
    bad["accounts"]["show"]["highlight"] = "#x"
    refused(bad, "accounts.show.highlight", "unknown key")
    bad = yaml.safe_load(MAP.read_text(encoding="utf-8"))
    bad["accounts"]["create"]["steps"][2] = {"fill": {"#nom": "{nom}"}, "click": "#x"}
    refused(bad, "accounts.create.steps[3]", "expected exactly one of goto, click")
    bad = yaml.safe_load(MAP.read_text(encoding="utf-8"))
    bad["accounts"]["show"]["steps"].append({"wait": {"selector": "#x", "state": "shown"}})
    refused(bad, "accounts.show.steps[3].wait.state", "expected one of visible")
    bad = yaml.safe_load(MAP.read_text(encoding="utf-8"))
    bad["accounts"]["show"]["result"]["email_pending"] = "(?i)attente"
    refused(bad, "accounts.show.result.email_pending", "{value: TEMPLATE, matches: REGEX}")
    refused({"accounts": {"create": {"url": "/accounts/new", "click": "#go"}}}, "accounts.create",
            "former map format")
    refused(good | {"patients": {}}, "patients", "no YAML adapter")
    proc = run_segur("run", str(params_for("absent.yaml")), "--outputs", str(tmp_path / "out"))
    assert proc.returncode == 2 and "absent.yaml not found" in proc.stderr and "driver" in proc.stderr


def test_driver_check_names_actions_the_map_lacks(tmp_path, write_params):
    data = yaml.safe_load(MAP.read_text(encoding="utf-8"))
    del data["accounts"]["verify"]
    partial = tmp_path / "partial.yaml"
    partial.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    params = write_params(campaign_dict("http://127.0.0.1:9", tmp_path / "m", driver="yaml:partial.yaml"))
    proc = run_segur("driver", "check", str(params), "--no-smoke")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    missing = [l for l in proc.stdout.splitlines() if l.strip().startswith("MISSING")]
    assert len(missing) == 1 and "accounts.verify" in missing[0] and "not mapped in YamlAccounts" in missing[0]


def test_driver_check_on_documents_names_what_only_a_python_driver_gives(tmp_path, write_params):
    params = write_params(campaign_dict("http://127.0.0.1:9", tmp_path / "m", ("DMP/CONF.04", "MSS/CONF.16",
                                                                               "HOP VA 1.06"), driver=f"yaml:{MAP}"))
    proc = run_segur("driver", "check", str(params), "--no-smoke")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = [line.split() for line in proc.stdout.splitlines()]
    ok = {w[1] for w in lines if len(w) > 1 and w[0] == "ok"}
    assert {"documents.open_new", "documents.save", "documents.validate", "documents.show", "documents.fetch_cda",
            "documents.send_mss", "documents.documentation_entry"} <= ok, proc.stdout
    missing = [line for line in proc.stdout.splitlines() if line.strip().startswith("MISSING")]
    assert len(missing) == 1 and "documents.open_documentation" in missing[0], proc.stdout
    assert "no YAML adapter" in missing[0] and "Python driver" in missing[0], missing[0]


def test_driver_check_runs_each_actions_first_side_effect_free_steps(tmp_path, write_params, demo_stack):
    stack = demo_stack()
    good = write_params(yaml_campaign(stack.url, stack.maildir), "good.yaml")
    proc = run_segur("driver", "check", str(good))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    smoke = next(l for l in proc.stdout.splitlines() if l.startswith("smoke    accounts:"))
    assert "create: steps 1-2 ran" in smoke and "show: step 1 needs {id}, given only by a run" in smoke, smoke

    data = yaml.safe_load(MAP.read_text(encoding="utf-8"))
    data["accounts"]["create"]["steps"][0] = {"goto": "/comptes/nouveau"}        # a URL the product lacks
    (tmp_path / "wrong-url.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    proc = run_segur("driver", "check", str(write_params(
        yaml_campaign(stack.url, stack.maildir, map_file=tmp_path / "wrong-url.yaml"), "wrong-url-params.yaml")))
    assert proc.returncode == 1
    smoke = next(l for l in proc.stdout.splitlines() if l.startswith("smoke    accounts:"))
    assert "wrong-url.yaml: accounts.create, step 1 (goto '/comptes/nouveau')" in smoke and "HTTP 404" in smoke

    data = yaml.safe_load(MAP.read_text(encoding="utf-8"))
    data["settings"]["timeout_s"] = 2
    data["accounts"]["create"]["steps"][1] = {"wait": "#formulaire-compte"}       # an element it lacks
    (tmp_path / "wrong-form.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    proc = run_segur("driver", "check", str(write_params(
        yaml_campaign(stack.url, stack.maildir, map_file=tmp_path / "wrong-form.yaml"), "wrong-form-params.yaml")))
    assert proc.returncode == 1 and "result: every capability" not in proc.stdout
    smoke = next(l for l in proc.stdout.splitlines() if l.startswith("smoke    accounts:"))
    assert "accounts.create, step 2 (wait '#formulaire-compte')" in smoke, smoke


def test_the_maps_docs_drivers_md_teaches_are_valid(tmp_path):
    from segur_helpers.drivers.yaml_driver import load_map

    text = (ROOT / "docs" / "drivers.md").read_text(encoding="utf-8").split("## The YAML driver", 1)[1]
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
    assert len(blocks) >= 2
    sections = set()
    for i, block in enumerate(blocks):
        (tmp_path / f"example{i}.yaml").write_text(block, encoding="utf-8")
        sections |= set(load_map(tmp_path / f"example{i}.yaml"))
    assert {"accounts", "contact_changes", "account_review", "documents"} <= sections


def test_step_language_validation_messages():
    from segur_helpers.drivers.yaml_language import validate_steps

    def message(steps) -> str:
        with pytest.raises(UserError) as info:
            validate_steps(steps, "m.yaml", "accounts.create.steps")
        return str(info.value)

    assert message([]) == "m.yaml: accounts.create.steps: expected a list of steps (goto, click, fill …)"
    assert "steps[1].response: expected a mapping with do: [steps]" in message([{"response": "x"}])
    assert "steps[1].response.do[1]" in message([{"response": {"do": [{"klick": "#a"}]}}])
    assert "steps[1].download.as" in message([{"download": {"do": [{"click": "#a"}]}}])
    assert "steps[1].row" in message([{"row": {"table": "#t", "as": "r"}}])
    assert "steps[1].extract.pattern: invalid regular expression" in message(
        [{"extract": {"from": "{x}", "pattern": "(", "as": "y"}}])
    assert "steps[2].timeout_s" in message([{"click": "#a"}, {"click": "#b", "timeout_s": 0}])
    assert message([{"select": {"#t": {"index": 2}}}]) == ("m.yaml: accounts.create.steps[1].select.#t: expected an "
                                                            "option's label, {label: LABEL} or {value: VALUE}")
    assert "steps[1].select.#t.value: expected a value, got list" in message([{"select": {"#t": {"value": [1]}}}])
    validate_steps([{"select": {"#a": "Médecin", "#b": {"value": "{code}"}, "#c": {"label": "{type}"}}}], "m.yaml", "k")
    validate_steps([{"goto": "/x"}, {"dialog": {"accept": True, "fill": "{v}", "as": "q"}}, {"click": "#b"},
                    {"response": {"url": "/api/x", "method": "POST", "status": [200, 201], "do": [{"click": "#c"}],
                                  "json": {"id": "a.b"}, "headers": {"loc": "Location"}}},
                    {"row": {"table": "#t", "where": {"N°": "{id}"}, "as": "r"}},
                    {"set": {"s": {"switch": "{how}", "cases": {"a": "#a"}}}}], "m.yaml", "k")
