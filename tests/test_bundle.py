"""``segur bundle RUN``: per-chapter folders and zips named by proof numbering, hashes = the run's manifest."""
from __future__ import annotations

import hashlib
import json
import zipfile

from openpyxl import load_workbook

from conftest import campaign_dict, run_segur
from segur_helpers.catalog.rem import import_rem
from segur_helpers.runfolder import write_manifest

PROOFS = ("SSI/IE.31.01.01", "SSI/IE.31.01.02", "SSI/IE.31.01.03")


def test_bundle_of_a_demo_run(tmp_path, write_params, demo_stack):
    stack = demo_stack()
    out = tmp_path / "outputs"
    proc = run_segur("run", str(write_params(campaign_dict(stack.url, stack.maildir))), "--outputs", str(out))
    assert proc.returncode == 0, proc.stderr
    (run,) = [p for p in (out / "test").iterdir() if p.is_dir()]

    proc = run_segur("bundle", str(run))
    assert proc.returncode == 0, proc.stderr
    bundle = out / "bundles" / "test" / run.name  # beside the runs, not inside the sealed run folder
    assert f"bundle: {bundle}" in proc.stdout
    manifest = json.loads((run / "manifest.json").read_text())["files"]
    proof_pdf_hash = manifest["SSI_IE.31.01/SSI_IE.31.01.pdf"]
    expected_names = [f"SSI_IE.31.01.0{n}.pdf" for n in (1, 2, 3)]

    # the zip unpacks into one file per proof element, named by the proof numbering made safe
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(bundle / "SSI_IE.zip") as zf:
        assert sorted(zf.namelist()) == expected_names
        zf.extractall(unpacked)
    digests = {}
    for name in expected_names:
        digests[name] = hashlib.sha256((bundle / "SSI_IE" / name).read_bytes()).hexdigest()
        assert hashlib.sha256((unpacked / name).read_bytes()).hexdigest() == digests[name]
    # each element file holds its own pages, not the whole proof
    assert len(set(digests.values())) == 3 and proof_pdf_hash not in digests.values()
    assert sorted(p.name for p in (bundle / "SSI_IE").iterdir()) == expected_names
    assert not any(p.name == "bundles" for p in run.rglob("*"))  # the run folder is untouched
    assert set(manifest) == {p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file()} - {"manifest.json"}

    # the status workbook is in the Convergence export's columns (our importer reads it back as such)
    (status,) = bundle.glob("statut-test-*.xlsx")
    rows = list(load_workbook(status).active.iter_rows(values_only=True))
    assert rows[0][:8] == ("ID", "Chapitre", "Fonction", "Exigence", "N° scénario", "Scénario de conformité",
                           "N° preuve", "Preuve")
    assert [(r[0], r[4], r[6], r[8], r[9], r[10]) for r in rows[1:]] == [
        ("SSI/IE.31", "SSI/IE.31.01", p, "CONFORME", p.replace("/", "_") + ".pdf", digests[p.replace("/", "_") + ".pdf"])
        for p in PROOFS]   # each element file sealed by its own SHA-256
    back = import_rem(status)
    assert back.layout == "convergence"
    assert [p.id for p in back.get("SSI/IE.31").scenarios[0].proofs] == list(PROOFS)


def test_only_fileable_proofs_are_bundled(tmp_path):
    """A NON CONFORME proof is listed in the status as not fileable; nothing of it is uploaded."""
    run = tmp_path / "outputs" / "c" / "20261125T120000-abcd"
    folder = run / "SSI_IE.31.01"
    folder.mkdir(parents=True)
    (folder / "SSI_IE.31.01.pdf").write_bytes(b"%PDF-1.4 not a real proof\n")
    result = {"requirement": "SSI/IE.31", "chapter": "SSI/IE", "scenario": "SSI/IE.31.01", "verdict": "NON CONFORME",
              "scenario_title": "t", "summary": "s", "wording_source": "w",
              "expected": [{"id": p, "text": "x"} for p in PROOFS]}
    (folder / "result.json").write_text(json.dumps(result), encoding="utf-8")
    (run / "run.json").write_text(json.dumps({"campaign": "c", "run_id": run.name, "status": "complete"}))
    write_manifest(run)
    proc = run_segur("bundle", str(run), "--out", str(tmp_path / "b"))
    assert proc.returncode == 0, proc.stderr
    assert "warning: SSI/IE.31.01 is NON CONFORME: not filed" in proc.stderr
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["statut-c-20261125T120000-abcd.xlsx"]
    rows = list(load_workbook(tmp_path / "b" / "statut-c-20261125T120000-abcd.xlsx").active.iter_rows(values_only=True))
    assert {r[9] for r in rows[1:]} == {"non déposable (NON CONFORME)"}


def test_not_a_run_folder(tmp_path):
    proc = run_segur("bundle", str(tmp_path))
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "manifest.json missing" in line and "segur run" in line
