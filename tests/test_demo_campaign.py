"""The whole demo campaign, as `make demo` runs it, against the whole demo target on free ports.

One target serves the module, and its runs are shared:

- run 1 (4 workers, the demo driver): every test below reads it — verdicts and secrets, the captions of
  every screenshot against what its red outline surrounds, every SHA-256 whole in the text of the PDFs,
  the bundle's element files;
- run 2 goes through a tracing driver (the demo driver whose capabilities record every method the scenario
  code calls): `segur driver check` must name exactly those methods;
- runs 3 to 5 follow on the same target: with runs 1 and 2, five runs in a row of the whole campaign with
  4 workers must give the same verdicts, and no proof that reads the accounts as a whole ever ran beside
  one that changes them (isolation between proofs).

Until 2026-12-04 these were three modules, each starting its own target: sharing the first two runs spares
two whole campaigns of `make test`."""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import textwrap
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from openpyxl import load_workbook

from conftest import ADMIN_PASSWORD, ROOT, files_under, run_segur, verdicts_of
from segur_helpers import catalog
from segur_helpers.evidence import names_inside, normalise
from segur_helpers.export import element_number, element_section, notebook_sections

SECRET_VARS = ("DEMO_LDAP_ADMIN_PASSWORD", "DEMO_OIDC_USER_PASSWORD", "DEMO_OIDC_ADMIN_PASSWORD",
               "DEMO_PSC_USER_PASSWORD", "DEMO_PSC_ADMIN_PASSWORD")
RUNS = 5          # the isolation test: the whole campaign five times in a row on one target
WORKERS = "4"


class Campaign(NamedTuple):
    run: Path                          # run 1's folder
    text: str                          # the campaign's params (demo.yaml pointed at this target)
    proc: subprocess.CompletedProcess  # run 1's CLI
    used: list[str]                    # every secret the target and the kernels were given
    params: Path
    out: Path                          # the outputs folder every run of the module writes into


def _run(params: Path, out: Path) -> tuple[Path, subprocess.CompletedProcess]:
    """One more run of the campaign with 4 workers: (its run folder, its CLI process)."""
    before = {p.name for p in (out / "demo").iterdir()} if (out / "demo").is_dir() else set()
    proc = run_segur("run", str(params), "--outputs", str(out), "--workers", WORKERS, env=os.environ.copy(),
                     timeout=1500)
    (run,) = [p for p in (out / "demo").iterdir() if p.is_dir() and p.name not in before]
    return run, proc


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """Run 1 of the whole demo campaign on a fresh target, which stays up for the module's other runs."""
    from demo_dpi.stack import DemoStack

    tmp = tmp_path_factory.mktemp("demo-campaign")
    mp = pytest.MonkeyPatch()
    for var in SECRET_VARS:
        mp.setenv(var, "demo-" + secrets.token_urlsafe(16))
    stack = DemoStack(tmp / "target", with_dmp=True, with_ldap=True, with_oidc=True, with_psc=True)
    try:
        stack.start()
        text = stack.retarget((ROOT / "params" / "demo.yaml").read_text(encoding="utf-8"))
        assert "8765" not in text and "../outputs/demo-target" not in text
        params = tmp / "demo.yaml"
        params.write_text(text, encoding="utf-8")
        out = tmp / "out"
        run, proc = _run(params, out)
        yield Campaign(run, text, proc, [ADMIN_PASSWORD] + [os.environ[v] for v in SECRET_VARS], params, out)
    finally:
        stack.stop()
        mp.undo()


@pytest.fixture(scope="module")
def traced(campaign):
    """Run 2, on the same target, through the tracing driver: (its run folder, its CLI, the calls it traced)."""
    trace = campaign.params.parent / "trace.jsonl"
    (campaign.params.parent / "tracing_driver.py").write_text(TRACING_DRIVER, encoding="utf-8")
    assert "driver: demo\n" in campaign.text
    params = campaign.params.parent / "demo-traced.yaml"
    params.write_text(campaign.text.replace(
        "driver: demo\n", f"driver: tracing_driver:TracingDriver\ndriver_settings: {{trace: {trace}}}\n"),
        encoding="utf-8")
    run, proc = _run(params, campaign.out)
    called: dict[str, set[tuple[str, str]]] = {}
    for line in trace.read_text(encoding="utf-8").splitlines():
        rid, cap, method = json.loads(line)
        called.setdefault(rid, set()).add((cap, method))
    return run, proc, called


def results(run: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(run.glob("*/result.json"))}


def pdftotext(path: Path) -> str:
    """The text a reviewer copies from a PDF (poppler's pdftotext, as is: a hash cut over two lines is cut)."""
    exe = shutil.which("pdftotext")
    assert exe, "pdftotext not found: install Debian's poppler-utils (make test does it)"
    return subprocess.run([exe, str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_demo_campaign_is_all_conforme(campaign):
    run, text, proc, used = campaign[:4]
    verdicts = verdicts_of(run)
    in_scope = yaml.safe_load(text)["requirements"]
    assert len(verdicts) >= len(in_scope)
    assert set(verdicts.values()) == {"CONFORME"}, (verdicts, proc.stdout[-3000:], proc.stderr[-3000:])
    assert proc.returncode == 0
    assert (run / "summary.pdf").is_file() and (run / "summary.xlsx").is_file()
    for f in files_under(run):
        data = f.read_bytes()
        assert not any(s.encode() in data for s in used), f"secret found in {f}"


def test_every_caption_names_only_what_its_outline_surrounds(campaign):
    """A screenshot's card quotes the outlined element's own text, read when the screenshot was taken;
    a text the scenario names in a caption (``names=``) must be inside that element, in every proof."""
    run = campaign[0]
    shots, named, wrong = 0, 0, []
    for folder, result in results(run).items():
        for item in result.get("evidence", []):
            if item["kind"] != "screenshot":
                continue
            shots += 1
            named += bool(item.get("names"))
            if item.get("outlined"):
                assert item.get("outlined_text"), f"{folder}/{item['name']}: outlined element without its text"
            for missing in names_inside(item):
                wrong.append(f"{folder}/{item['name']}: caption names « {missing} », outline surrounds "
                             f"« {item.get('outlined_text', '')[:200]} »" if item.get("outlined") else
                             f"{folder}/{item['name']}: caption names « {missing} », nothing is outlined")
    assert not wrong, "\n".join(wrong)
    assert shots >= 40 and named >= 10, (shots, named)   # the test looks at real captions, not an empty list
    # DMP/CONF.16 (formerly DMP/CS.01): the admission forms are captured with the answer entered, the answer named in the outline
    cs = next(r for f, r in results(run).items() if f.startswith("DMP_CONF.16.01"))
    forms = [i for i in cs["evidence"] if i["kind"] == "screenshot" and "formulaire d'admission" in i["caption"].lower()]
    assert [normalise(i["names"][0]) for i in forms] == [normalise("Oui : connexion secrète"), normalise("Non")]
    text = " ".join(pdftotext(run / "DMP_CONF.16.01" / "DMP_CONF.16.01.pdf").split())
    assert "élément encadré en rouge : « Aucun épisode en cours" in text
    assert "« Accès au DMP bloqué" not in text and "« Aucun nouveau document versé" not in text


def test_every_hash_is_whole_in_the_text_of_the_pdfs(campaign):
    """Every SHA-256 a PDF shows can be copied whole from it: evidence, notebook, summary's proofs."""
    run = campaign[0]
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))["files"]
    checked = 0
    for folder, result in results(run).items():
        pdf = run / folder / f"{folder}.pdf"
        text = pdftotext(pdf)
        wanted = [i["sha256"] for i in result["evidence"]] + [manifest[f"{folder}/notebook.ipynb"]]
        cut = [h for h in wanted if h not in text]
        assert not cut, f"{pdf.name}: SHA-256 not whole in pdftotext: {cut}"
        checked += len(wanted)
        # and no 64-hex hash anywhere in the text is cut over two lines
        cut = [a + b for a, b in re.findall(r"\b([0-9a-f]{16,63})\n([0-9a-f]{1,48})\b", text) if len(a + b) == 64]
        assert not cut, f"{pdf.name}: hash cut over two lines: {cut}"
    summary = pdftotext(run / "summary.pdf")
    record = json.loads((run / "run.json").read_text(encoding="utf-8"))
    for p in record["proofs"]:
        assert p["pdf_sha256"] in summary, f"summary.pdf: SHA-256 of {p['pdf']} missing or cut"
    assert checked > 100


def test_reviewer_french_in_the_proofs(campaign):
    run = campaign[0]
    for folder in results(run):
        text = " ".join(pdftotext(run / folder / f"{folder}.pdf").split())
        assert "PASS" not in text and "FAIL" not in text, folder
        assert "RÉUSSI" in text, folder
        assert "(heure de Paris, UTC+0" in text, folder
        assert not re.search(r"\(\d+\.\d+ s\)|\b\d+\.\d+ s\b", text), f"{folder}: English decimal point"
        assert not re.search(r" \+0000\b|\bGMT\b", text), f"{folder}: e-mail date not in Paris time"
        assert not re.search(r"\b(de|le) [AEIOUÉÈÊÀ][a-zéèêàç]", text), f"{folder}: « de/le » before a vowel"
    info = dict(load_workbook(run / "summary.xlsx")["Exécution"].iter_rows(values_only=True))
    assert "Campagne" in info and "campaign" not in info and "heure de Paris" in info["Début"]


def test_summaries_are_in_rem_order(campaign):
    from segur_helpers.summary import natural_key

    run = campaign[0]
    rows = list(load_workbook(run / "summary.xlsx")["Preuves"].iter_rows(values_only=True))[1:]
    keys = [(natural_key(r[1]), natural_key(r[0]), natural_key(r[6])) for r in rows]
    assert keys == sorted(keys)
    chapters = [r[1] for r in rows]
    assert chapters == sorted(chapters, key=natural_key)


def test_bundle_files_one_pdf_per_element_with_its_own_pages(campaign, tmp_path):
    """Each element file holds its own part of the proof (cover, its step, its annex lines), differs from
    its siblings, and is sealed in the status workbook by its own SHA-256."""
    run = campaign[0]
    out = tmp_path / "bundle"
    proc = run_segur("bundle", str(run), "--out", str(out), timeout=900)
    assert proc.returncode == 0, proc.stderr
    (status,) = out.glob("statut-demo-*.xlsx")
    rows = list(load_workbook(status).active.iter_rows(values_only=True))
    header, rows = rows[0], rows[1:]
    col = {name: header.index(name) for name in ("ID", "N° scénario", "N° preuve", "Fichier déposé", "SHA-256")}
    by_element = {r[col["N° preuve"]]: r for r in rows}
    from segur_helpers.summary import rem_order_key
    keys = [rem_order_key(r[header.index("Chapitre")], r[col["ID"]], r[col["N° preuve"]]) for r in rows]
    assert keys == sorted(keys), "the status workbook is not in REM order"
    checked_scenarios = 0
    for folder, result in results(run).items():
        nb = __import__("nbformat").read(str(run / folder / "notebook.ipynb"), as_version=4)
        sections = notebook_sections(nb)
        titles = {s["number"]: s["title"] for s in result["steps"]}
        digests = set()
        for element in result["expected"]:
            row = by_element[element["id"]]
            (name,) = row[col["Fichier déposé"]].split("\n")
            path = next(out.rglob(name))
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert row[col["SHA-256"]] == digest, f"{name}: the status does not seal this file"
            digests.add(digest)
            text = " ".join(pdftotext(path).split())
            assert element["id"] in text
            # after the proof's cover (which lists every expected element): this element's part only
            body = text[text.casefold().index("élément de preuve déposé"):]
            own = element_section(sections, element_number(element["id"]))
            assert own.heading in body, f"{name}: its part « {own.heading} » is missing"
            for other in sections:
                if other is not own:
                    assert other.heading not in body, f"{name}: holds « {other.heading} » of another element"
            for number, title in titles.items():
                if number in own.steps:
                    assert title in body, f"{name}: its step {number} « {title} » is missing"
                elif not any(title in titles[n] for n in own.steps):
                    assert title not in body, f"{name}: holds step {number} « {title} » of another element"
            steps_of = {}  # two captures of one identical screen share a hash: judge by the steps that have it
            for item in result["evidence"]:
                steps_of.setdefault(item["sha256"], set()).add(item["step"])
            for item in result["evidence"]:
                expected = bool(steps_of[item["sha256"]] & own.steps)
                assert (item["sha256"] in text) == expected, f"{name}: annex line {item['name']}"
        assert len(digests) == len(result["expected"]), f"{folder}: element files are not all different"
        checked_scenarios += 1
    assert checked_scenarios == len(results(run))
    # SSI/IAM.80's « Preuves 2 et 3 »: both elements are filed, from the same part of the notebook
    assert by_element["SSI/IAM.80.01.02"][col["Fichier déposé"]] == "SSI_IAM.80.01.02.pdf"
    assert by_element["SSI/IAM.80.01.03"][col["Fichier déposé"]] == "SSI_IAM.80.01.03.pdf"


# -- run 2: `segur driver check` tells the truth ------------------------------------------------------------

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


def test_check_report_matches_what_every_demo_notebook_calls(campaign, traced):
    """For every demo requirement, the check's report names exactly the methods its notebook called: none
    missing (a call the check did not see), none extra (a method its notebook never calls), except calls
    made only on a path a compliant run does not take (listed above, with the reason)."""
    run, proc, called = traced
    check = run_segur("driver", "check", str(campaign.params), "--no-smoke", env=os.environ.copy())
    static: dict[str, set[tuple[str, str]]] = {}
    current = None
    for line in check.stdout.splitlines():
        if m := re.match(r"^(\S.*?) — scenario module ", line):
            current = static.setdefault(m.group(1), set())
        elif m := re.match(r"^  (ok|MISSING)\s+(\w+)\.(\w+)\s", line):
            current.add((m.group(2), m.group(3)))
    assert "MISSING" not in check.stdout, check.stdout

    assert set(verdicts_of(run).values()) == {"CONFORME"}, (verdicts_of(run), proc.stdout[-2000:])
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
    assert len(static) == len(yaml.safe_load(campaign.text)["requirements"]) >= 18   # every demo requirement


# -- runs 1 to 5: proofs cannot disturb each other ----------------------------------------------------------

@pytest.mark.slow
@pytest.mark.timeout(5400)
def test_whole_demo_campaign_five_times_with_four_workers_gives_identical_verdicts(campaign, traced):
    """Five runs in a row on one target (runs 1 and 2 above, then three more) give the same verdicts every
    time, and no proof that reads the accounts as a whole (SSI/IAM.87, SSI/IAM.94 count them) ever ran while
    a proof that creates or changes accounts was running."""
    in_scope = yaml.safe_load(campaign.text)["requirements"]
    runs = [(campaign.run, campaign.proc), traced[:2]]
    while len(runs) < RUNS:
        runs.append(_run(campaign.params, campaign.out))
    first = verdicts_of(campaign.run)
    assert len(first) >= len(in_scope)
    for n, (run, proc) in enumerate(runs, 1):
        verdicts = verdicts_of(run)
        assert verdicts == first, (f"run {n} differs from run 1",
                                   {k: (first.get(k), v) for k, v in verdicts.items() if first.get(k) != v},
                                   proc.stdout[-2000:])
        _no_reader_beside_a_writer(run)
    assert set(first.values()) == {"CONFORME"}, first


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
