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
    rows = html.split("<tr>")[2:]
    assert ["produit par le pilote" in r for r in rows] == [False, True, True, False]
