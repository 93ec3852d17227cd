"""``segur justify --check PARAMS``: each bad justification is one clear line and exit code 2."""
from __future__ import annotations

import dataclasses
import datetime as dt
import shutil

import pytest
import yaml

from conftest import ROOT, run_segur
from segur_helpers import catalog
from segur_helpers.cli import main

TODAY = dt.date.today()


def demo_data() -> dict:
    with open(ROOT / "params" / "demo-justification.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture
def write(tmp_path):
    shutil.copytree(ROOT / "params" / "justification", tmp_path / "justification")

    def write(data: dict):
        path = tmp_path / "campaign.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return path
    return write


def just(data: dict) -> dict:
    return data["requirements"]["SSI/IE.31"]["justification"]


def _expired(d):
    just(d).update(date=(TODAY - dt.timedelta(days=400)).isoformat(),
                   expires=(TODAY - dt.timedelta(days=3)).isoformat())


CASES = {
    "missing explanation": (lambda d: just(d).pop("explanation"),
                            ["justification.explanation", "missing explanation", "how the product works"]),
    "blank reason": (lambda d: just(d).update(reason="  "),
                     ["justification.reason", "missing explanation", "why the situation"]),
    "missing signatory": (lambda d: just(d).pop("signatory"),
                          ["justification.signatory", "missing signatory", "name, role"]),
    "signatory without role": (lambda d: just(d)["signatory"].pop("role"),
                               ["justification.signatory.role", "missing signatory role"]),
    "expired": (_expired, ["justification.expires", "justification expired on", "renew"]),
    "expiry before date": (lambda d: just(d).update(expires="2026-01-01"),
                           ["justification.expires", "is not after the date 2026-11-20"]),
    "bad date": (lambda d: just(d).update(date="20/11/2026"),
                 ["justification.date", "'20/11/2026' is not a date", "YYYY-MM-DD"]),
    "missing attachment": (lambda d: just(d)["attachments"].append({"path": "justification/absent.pdf"}),
                           ["justification.attachments[2]", "attachment file not found", "absent.pdf",
                            "relative to the params file"]),
    "no justification": (lambda d: d["requirements"]["SSI/IE.31"].pop("justification"),
                         ["requirements.SSI/IE.31.justification", "missing while condition_met is false"]),
    "justification while condition met": (lambda d: d["requirements"]["SSI/IE.31"].update(condition_met=True),
                                          ["requirements.SSI/IE.31.justification", "condition_met is true"]),
    "unknown key": (lambda d: just(d).update(signataire="x"),
                    ["justification.signataire", "unknown key", "explanation"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_bad_case_is_one_clear_line(case, write):
    data = demo_data()
    mutate, needles = CASES[case]
    mutate(data)
    proc = run_segur("justify", "--check", str(write(data)))
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and "campaign.yaml: requirements.SSI/IE.31" in lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])


def test_every_problem_is_listed_and_a_run_is_refused_before_writing(write, tmp_path):
    data = demo_data()
    just(data).pop("explanation")
    just(data).pop("signatory")
    _expired(data)
    params = write(data)
    proc = run_segur("justify", "--check", str(params))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines)
    assert ["explanation" in lines[0], "signatory" in lines[1], "expired" in lines[2]] == [True] * 3
    # segur run refuses the same file with its first problem, and writes no run folder
    proc = run_segur("run", str(params), "--outputs", str(tmp_path / "outputs"))
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [lines[0]]
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").rglob("*"))


def test_good_justification_passes(write):
    proc = run_segur("justify", "--check", str(write(demo_data())))
    assert proc.returncode == 0, proc.stderr
    assert "SSI/IE.31: justification ok — signed by Claire Martin" in proc.stdout
    assert "no problem" in proc.stdout


def test_requirement_that_is_not_conditional(write, monkeypatch, capsys):
    """An unmet condition on a requirement without LORSQUE clause (SSI/IE.31 is conditional, so a copy of
    it marked unconditional stands in for one)."""
    real = catalog.catalog()
    fake = dataclasses.replace(real["SSI/IE.31"], id="SSI/IE.99", conditional=False, condition="")
    monkeypatch.setattr(catalog, "catalog", lambda: {**real, "SSI/IE.99": fake})
    data = demo_data()
    data["requirements"]["SSI/IE.99"] = data["requirements"].pop("SSI/IE.31")
    assert main(["justify", "--check", str(write(data))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "requirements.SSI/IE.99.condition_met" in err[0]
    assert "not conditional" in err[0] and "expected true" in err[0]


def test_imported_rem_saying_unconditional(write):
    """The imported REM's conditional flag (wide report: "Exigence conditionnelle NON") is checked too."""
    from segur_helpers.catalog.rem import RemCatalog, RemRequirement

    params = write(demo_data())
    req = RemRequirement(id="SSI/IE.31", conditional=False, statement="texte inventé")
    RemCatalog(layout="wide", source="rem-essai.xlsx", sha256="0" * 64,
               requirements={req.id: req}).save(params.with_name("rem.json"))
    with open(params, "a", encoding="utf-8") as fh:
        fh.write("rem: rem.json\n")
    proc = run_segur("justify", "--check", str(params))
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "requirements.SSI/IE.31.condition_met" in line and "rem-essai.xlsx" in line
    assert "not conditional" in line
