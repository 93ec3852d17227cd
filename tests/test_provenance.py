"""Evidence a driver composes rather than observes is marked « produit par le pilote » in the proof."""
from __future__ import annotations

from email.message import EmailMessage

from segur_helpers.drivers import MailMessage
from segur_helpers.evidence import Recorder
from segur_helpers.params import Secrets
from segur_helpers.report import evidence_table


def _raw(subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "dpi@x.test", "rssi@x.test", subject
    msg.set_content("extraction jointe")
    return msg.as_bytes()


def test_composed_evidence_is_marked_and_received_evidence_is_not(tmp_path):
    rec = Recorder(tmp_path / "evidence", Secrets())
    rec.current_step = 1
    received = rec.email(MailMessage(_raw("reçu")), "Message reçu du système")
    composed = rec.email(MailMessage(_raw("composé"), composed=True), "Message mis en forme par le pilote")
    made = rec.attach(b"a;b\n1;2\n", "Extraction reconstituée", name="extraction.csv", composed=True)
    kept = rec.attach(b"a;b\n1;2\n", "Extraction du système", name="export.csv")
    assert (received.composed, composed.composed, made.composed, kept.composed) == (False, True, True, False)
    items = rec.to_dict()["evidence"]
    assert [i["composed"] for i in items] == [False, True, True, False]
    html = evidence_table(items)
    rows = html.split("<tbody class='item'>")[1:]  # one per evidence item (its line, then its SHA-256)
    assert ["produit par le pilote" in r for r in rows] == [False, True, True, False]


COMPOSING_DRIVER = '''
"""A product whose third party answers through a portal, not by e-mail: the driver downloads the
extract and wraps it in a message itself (as the vendor of issue 16 had to)."""
from email.message import EmailMessage

from demo_dpi.driver import DemoDriver
from demo_dpi.driver.account_review import DemoAccountReview
from segur_helpers.drivers import MailMessage
from segur_helpers.drivers.account_review import Extract


class PortalAccountReview(DemoAccountReview):
    async def receive_extract(self, request, requester, timeout):
        _view, extract = await self.export()
        msg = EmailMessage()
        msg["From"], msg["To"] = "portail@hopital.example", requester["email"]
        msg["Subject"] = f"Extraction {request.reference}"
        msg.set_content("Extraction récupérée sur le portail de l'infogérant.")
        msg.add_attachment(extract.data, maintype="text", subtype="csv", filename="extraction.csv")
        return Extract(data=extract.data, filename="extraction.csv", how="request",
                       message=MailMessage(msg.as_bytes(), composed=True), reference=request.reference)


class ComposingDriver(DemoDriver):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.account_review = PortalAccountReview(self)
'''


def test_a_message_the_driver_composed_is_marked_in_the_proof(tmp_path, write_params, demo_stack):
    import json
    import subprocess

    from conftest import campaign_dict, run_segur

    stack = demo_stack()
    (tmp_path / "composing_driver.py").write_text(COMPOSING_DRIVER, encoding="utf-8")
    params = write_params(campaign_dict(stack.url, stack.maildir, only=("SSI/IAM.94",),
                                        driver="composing_driver:ComposingDriver"))
    out = tmp_path / "out"
    proc = run_segur("run", str(params), "--outputs", str(out))
    result = json.loads(next(out.rglob("result.json")).read_text(encoding="utf-8"))
    assert result["verdict"] == "CONFORME", proc.stdout + proc.stderr
    emails = [e for e in result["evidence"] if e["kind"] == "email"]
    assert len(emails) == 1 and emails[0]["composed"] is True
    assert all(not e["composed"] for e in result["evidence"] if e["kind"] != "email")
    pdf = next(out.rglob("SSI_IAM.94.01.pdf"))
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split())
    assert "Message produit par le pilote (non reçu du système)" in text
    assert text.count("(produit par le pilote)") == 1          # in the annex, on the message's line only
