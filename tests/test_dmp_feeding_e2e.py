"""DMP feeding end to end against the demo DPI and the DMP simulator: HOP VA 1.04, DMP/ALI/PROG.01.

The compliant run covers both requirements (CONFORME each, the DMP simulator stopped and restarted by
the PROG.01 proof); each defect run must be NON CONFORME naming the checks the defect breaks.
"""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import campaign_dict, run_segur
from test_documents_e2e import assert_no_secret, pdf_text, result_of

REQS = ("HOP VA 1.04", "DMP/ALI/PROG.01")


def run_feeding(tmp: Path, stack, only: tuple[str, ...], dmp_wait_s: float | None = None):
    data = campaign_dict(stack.url, stack.maildir, only=only,
                         dmp={"url": stack.dmp_url, "control_url": stack.dmp_control_url})
    if dmp_wait_s is not None:  # a defect that never sends: watch the DMP briefly
        for req in only:
            data["requirements"][req]["data"]["dmp_wait_s"] = dmp_wait_s
    params = tmp / "campaign.yaml"
    params.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = tmp / "outputs"
    proc = run_segur("run", str(params), "--outputs", str(out))
    runs = [p for p in (out / "test").iterdir() if p.is_dir()]
    assert len(runs) == 1, (proc.stdout, proc.stderr)
    return proc, runs[0]


@pytest.fixture(scope="module")
def compliant(tmp_path_factory):
    from demo_dpi.stack import DemoStack

    tmp = tmp_path_factory.mktemp("feeding")
    with DemoStack(tmp / "target", with_dmp=True) as stack:
        proc, run = run_feeding(tmp, stack, REQS)
        service = json.loads(urllib.request.urlopen(stack.dmp_control_url + "/service", timeout=5).read())
        yield proc, run, service


def test_compliant_feeding_is_conforme(compliant):
    proc, run, service = compliant
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for req in REQS:
        result, pdf = result_of(run, req)
        assert result["verdict"] == "CONFORME", (req, [c for c in result["checks"] if not c["passed"]])
        text = pdf_text(pdf)
        assert "CONFORME" in text and "NON CONFORME" not in text
    assert service == {"service": "up"}  # the proof restarted the DMP it stopped
    assert_no_secret(run, proc.stdout, proc.stderr)


def test_prog01_shows_queue_cancel_and_automatic_send(compliant):
    _, run, _ = compliant
    result, pdf = result_of(run, "DMP/ALI/PROG.01")
    labels = [c["label"] for c in result["checks"]]
    for words in ("tâche de fond", "Opposition du patient", "Patient sans DMP", "Autorisation insuffisante",
                  "mis en attente", "annule l'envoi", "Au retour du DMP", "n'est pas envoyé"):
        assert any(words in label for label in labels), words
    exchanges = [e["caption"] for e in result["evidence"] if e["caption"].startswith("Échange avec le DMP")]
    assert any("Coupure du DMP" in c for c in exchanges) and any("Remise en service" in c for c in exchanges)
    text = pdf_text(pdf)
    assert "En attente : DMP injoignable" in text and "DMP/ALI/PROG.01.01.05" in text


DEFECTS = {
    # requirement: (checks the defect must fail, checks it may also fail)
    "HOP VA 1.04": ({"« Envoyer au DMP » est coché par défaut", "La validation déclenche l'envoi au DMP",
                     "Le document est arrivé dans le DMP du patient, sans autre action de l'utilisateur",
                     "La fiche du document indique l'envoi au DMP"}, set()),
    "DMP/ALI/PROG.01": ({"DMP injoignable : le document est mis en attente, sans action de l'utilisateur",
                         "Au retour du DMP, le document en attente est envoyé sans action de l'utilisateur"},
                        {"L'utilisateur annule l'envoi d'un document au cas par cas",
                         "Le document dont l'envoi a été annulé n'est pas envoyé au retour du DMP"}),
}


@pytest.mark.parametrize("req", list(DEFECTS))
def test_feeding_defect_gives_non_conforme(req, tmp_path, demo_stack):
    stack = demo_stack(defects=[req], with_dmp=True)
    proc, run = run_feeding(tmp_path, stack, (req,), dmp_wait_s=8 if req == "HOP VA 1.04" else None)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result, pdf = result_of(run, req)
    assert result["verdict"] == "NON CONFORME"
    failed = {c["label"] for c in result["checks"] if not c["passed"]}
    must, may = DEFECTS[req]
    assert must <= failed, failed
    assert failed <= must | may, failed
    text = pdf_text(pdf)
    assert "NON CONFORME" in text and "Vérifications en échec" in text
    for label in must:
        assert label in text

