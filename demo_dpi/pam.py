"""The demo DPI's admission feed: HL7 v2.5 ADT messages (IHE PAM, ITI-31) received over MLLP.

``python -m demo_dpi.pam --port 2575 --db demo_dpi.sqlite [--secret-field LOCATOR] [--defect NAME]``

Its own process on 127.0.0.1, beside the web application, on the same SQLite database (the one patient
model, :mod:`demo_dpi.patients`). MLLP framing and the asyncio server are those of the ``hl7`` library
(python-hl7, ``hl7.mllp``); the message is parsed with ``hl7.parse``. Started by
``demo_dpi.stack`` (``--pam-port``), ``make demo`` and ``make lab`` (port 2575).

**Messages** (MSH-12 ``2.5`` or ``2.5.x``; MSH-18 ``UNICODE UTF-8``, ``8859/1`` or empty for ASCII):

| event | what the DPI does |
|---|---|
| ``ADT^A01`` admit, ``ADT^A04`` register an outpatient | opens a care episode for the patient named by its INS (registered from PID-5/7/8 when unknown): PV1-2 ``I`` hospitalisation, ``O`` external consultation; PV1-19 the visit number; PV1-7 the admitting professional (RPPS ^ name ^ first name), else MSH-3; the minor's *connexion secrète* from the field the setting names (below) |
| ``ADT^A03`` discharge | ends the episode of PV1-19: its consent record, connexion secrète included, ends with it |
| ``ADT^A11`` cancel admit | cancels the episode of PV1-19 (ended, and no longer counted as a visit) |

**Patients: test INS only.** PID-3 must carry the patient's INS: a repetition whose identifier type
(CX-5) is ``INS`` or whose assigning authority (CX-4.2) is an INS OID. Only the test OIDs
1.2.250.1.213.1.4.10 (NIR) and .11 (NIA) are accepted; an INS under another OID (production .8/.9) is
refused (AR naming PID-3), as everywhere in the demo DPI.

**Connexion secrète: a provisional field.** The French extension of IHE PAM that will carry a minor's
request for connexion secrète is still being written by Interop'Santé. Until it is published the field
is a setting (``--secret-field``), its value ``Y`` (requested) or ``N`` (not requested), HL7 table 0136;
absent or empty means not collected at admission. A setting is either ``SEG-N`` (field N of the first
SEG segment, component 1, e.g. ``ZBE-9``) or ``OBX[CODE]-N`` (field N of the OBX segment whose OBX-3
identifier is CODE). The default, ``OBX[CONNEXION_SECRETE]-5``, is an observation with a local code::

    OBX|1|CE|CONNEXION_SECRETE^Connexion secrète DMP (patient mineur)^L||Y^Oui^HL70136||||||F

chosen because OBX is allowed in ADT^A01/A04 by HL7 v2.5 and IHE PAM, and a local code (coding system
``L``) cannot collide with a Z segment or a field the future extension may define with another
meaning; when the extension is published, point the setting at its field (and the campaign's
``pam.secret_field`` with it). A request for an adult is refused (AE): the modality is a minor's.

**Acknowledgement** (original mode), one per message, never none: MSH (sender and receiver swapped,
``ACK^<event>^ACK``), MSA (MSA-1 ``AA`` accepted, ``AE`` error in the content, ``AR`` rejected: message
type, event, processing id, version, character set, framing, or an INS outside the test OIDs; MSA-2 the
message's MSH-10; MSA-3 a French sentence), and one ERR segment per problem: ERR-2 where (segment ^
its rank ^ field ^ repetition ^ component), ERR-3 the HL7 error code (table 0357), ERR-4 ``E``, ERR-8
the same French sentence. A malformed message never stops the listener: any failure, even an internal
one, becomes an AE/AR acknowledgement (an internal failure is also written to the log).

Defects (``--defect``, the names of :data:`demo_dpi.KNOWN_DEFECTS`): ``DMP/CONF.16-admission`` (the
connexion secrète of an admission message is ignored: acknowledged, never stored);
``DMP/CONF.16-discharge`` (a discharge keeps the connexion secrète on the patient: the file still shows
it, see :mod:`demo_dpi.feature_care`).
"""
from __future__ import annotations

import argparse
import asyncio
import re
import sys
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import hl7
from hl7.mllp import InvalidBlockError, start_hl7_server

from . import KNOWN_DEFECTS, db, defect_name, patients

DEFAULT_SECRET_FIELD = "OBX[CONNEXION_SECRETE]-5"
EVENTS = {"A01": "admission", "A04": "admission", "A03": "discharge", "A11": "cancel"}
CHARSETS = {"": "ascii", "ASCII": "ascii", "UNICODE UTF-8": "utf-8", "8859/1": "latin-1"}
INS_OIDS = {"1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9", "1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.11"}
PATIENT_CLASSES = {"I": "hospitalisation", "O": "consultation"}
MAX_MESSAGE = 1 << 20      # bytes of one MLLP block
PARIS = ZoneInfo("Europe/Paris")
# HL7 table 0357 (message error condition codes) used here
ERROR_TEXT = {100: "Segment sequence error", 101: "Required field missing", 102: "Data type error",
              103: "Table value not found", 200: "Unsupported message type", 201: "Unsupported event code",
              202: "Unsupported processing id", 203: "Unsupported version id", 204: "Unknown key identifier",
              205: "Duplicate key identifier", 207: "Application internal error"}
LOCATOR = re.compile(r"^(?:(?P<seg>[A-Z][A-Z0-9]{2})|OBX\[(?P<code>[^\]\s|^~&\\]+)\])-(?P<field>[1-9][0-9]*)$")


# -- settings -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SecretField:
    """Where the connexion secrète is read: field ``field`` of the first ``segment``, or of the OBX whose
    OBX-3 identifier is ``code``."""

    segment: str
    field: int
    code: str = ""

    @classmethod
    def parse(cls, text: str) -> "SecretField":
        m = LOCATOR.match(text.strip())
        if not m:
            raise ValueError(f"{text!r}: expected SEG-N (e.g. ZBE-9) or OBX[CODE]-N (e.g. {DEFAULT_SECRET_FIELD})")
        if m["code"]:
            return cls("OBX", int(m["field"]), m["code"])
        return cls(m["seg"], int(m["field"]))

    def __str__(self) -> str:
        return f"OBX[{self.code}]-{self.field}" if self.code else f"{self.segment}-{self.field}"


@dataclass
class Settings:
    db_path: str
    secret_field: SecretField = field(default_factory=lambda: SecretField.parse(DEFAULT_SECRET_FIELD))
    defects: set[str] = field(default_factory=set)
    application: str = "DEMO_DPI"        # MSH-3 of the acknowledgements
    facility: str = "CH-DEMO"            # MSH-4 of the acknowledgements


# -- problems and acknowledgements ----------------------------------------------------------------
@dataclass
class Problem:
    """One ERR segment: where (segment, its rank, field, repetition, component), HL7 code, French text."""

    segment: str
    field: int
    code: int
    text: str
    rank: int = 1
    repetition: int = 0
    component: int = 0

    @property
    def where(self) -> str:
        out = f"{self.segment}-{self.field}" if self.field else f"segment {self.segment}"
        return out + (f" (répétition {self.repetition})" if self.repetition > 1 else "")


class Rejected(Exception):
    """The message is refused as a whole (AR) or cannot be processed further (AE)."""

    def __init__(self, ack: str, *problems: Problem):
        super().__init__("; ".join(p.text for p in problems))
        self.ack = ack
        self.problems = list(problems)


def escape(text: str) -> str:
    """A value written into a field with the standard delimiters (HL7 escape sequences)."""
    return (str(text).replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
            .replace("~", "\\R\\").replace("&", "\\T\\").replace("\r", " ").replace("\n", " "))


def hl7_now() -> str:
    return datetime.now(PARIS).strftime("%Y%m%d%H%M%S%z")


def acknowledgement(header: dict, ack: str, text: str, problems: list[Problem], settings: Settings) -> str:
    """The ACK: MSH, MSA, one ERR per problem (standard delimiters, same character set as the message)."""
    event = header.get("event", "")
    msh = ["MSH", "^~\\&", settings.application, settings.facility, escape(header.get("sender", "")),
           escape(header.get("sender_facility", "")), hl7_now(), "", f"ACK^{escape(event)}^ACK",
           f"ACK{datetime.now(timezone.utc).strftime('%Y%m%d%H%M%S%f')}", escape(header.get("processing", "") or "P"),
           "2.5", "", "", "", "", escape(header.get("country", "")), escape(header.get("charset", ""))]
    segments = ["|".join(msh).rstrip("|"), "|".join(["MSA", ack, escape(header.get("control_id", "")), escape(text)])]
    for p in problems:
        location = "^".join(str(x) for x in (p.segment, p.rank, p.field or "", p.repetition or "", p.component or ""))
        segments.append("|".join(["ERR", "", location.rstrip("^"), f"{p.code}^{ERROR_TEXT.get(p.code, '')}^HL70357",
                                  "E", "", "", "", escape(p.text)]))
    return "\r".join(segments) + "\r"


# -- reading the message --------------------------------------------------------------------------
class Message:
    """A parsed ADT message with safe field access (1-based, MSH numbered as HL7 does)."""

    def __init__(self, parsed: hl7.Message):
        self.parsed = parsed

    def segments(self, name: str) -> list:
        return [s for s in self.parsed if str(s[0]) == name]

    def rank(self, segment) -> int:
        """The rank of ``segment`` among the segments of its name (1 for the first)."""
        same = self.segments(str(segment[0]))
        return next((i for i, s in enumerate(same, 1) if s is segment), 1)

    @staticmethod
    def value(segment, field: int, repetition: int = 1, component: int = 1, sub: int = 1) -> str:
        try:
            return str(segment.extract_field(1, field, repetition, component, sub)).strip()
        except (IndexError, AttributeError, TypeError, ValueError):
            return ""

    @staticmethod
    def repetitions(segment, field: int) -> int:
        try:
            if field >= len(segment):
                return 0
            f = segment(field)
            return len(f) if isinstance(f, hl7.Field) and not isinstance(f, str) else (1 if str(f) else 0)
        except (IndexError, TypeError):
            return 0

    def get(self, name: str, field: int, repetition: int = 1, component: int = 1, sub: int = 1) -> str:
        found = self.segments(name)
        return self.value(found[0], field, repetition, component, sub) if found else ""


def decode(block: bytes, header: dict) -> str:
    """The message's text, decoded as its MSH-18 says; ``header`` gets the fields the ACK echoes (read
    first, so that they are echoed even when the rest is unreadable). Raises :class:`Rejected` (AR) when it
    is not an HL7 v2 message at all."""
    head = block.decode("latin-1")
    if not head.startswith("MSH") or len(head) < 8:
        raise Rejected("AR", Problem("MSH", 0, 100, "le message ne commence pas par le segment MSH"))
    sep, encoding_chars = head[3], head[4:8]
    if sep.isalnum() or len(set(sep + encoding_chars)) != 5 or any(c.isalnum() or c in "\r\n" for c in encoding_chars):
        raise Rejected("AR", Problem("MSH", 2, 102, "MSH-1/MSH-2 : séparateurs illisibles (attendu |^~\\&)"))
    first = head.split("\r", 1)[0].split("\n", 1)[0]
    msh = first.split(sep)
    pick = lambda n: msh[n - 1] if len(msh) >= n else ""  # noqa: E731 — MSH-n is msh[n-1] (MSH-1 is the separator)
    comp = encoding_chars[0]
    header.update(sender=pick(3), sender_facility=pick(4), control_id=pick(10), processing=pick(11).split(comp)[0],
                  event=pick(9).split(comp)[1] if comp in pick(9) else "", country=pick(17), charset=pick(18))
    charset = pick(18).split(encoding_chars[1])[0].strip()
    if charset not in CHARSETS:
        raise Rejected("AR", Problem("MSH", 18, 103, f"MSH-18 : jeu de caractères « {charset} » non pris en charge "
                                                     "(attendu UNICODE UTF-8, 8859/1 ou vide pour ASCII)"))
    try:
        text = block.decode(CHARSETS[charset])
    except UnicodeDecodeError as exc:
        raise Rejected("AE", Problem("MSH", 18, 102, f"MSH-18 : le message n'est pas codé en {charset or 'ASCII'} "
                                                     f"(octet {exc.start + 1} invalide)")) from None
    return text


def parse(text: str) -> Message:
    if "\r" not in text.strip() and "\n" in text:
        raise Rejected("AE", Problem("MSH", 0, 100, "segments séparés par LF : HL7 v2 sépare les segments par CR (0x0D)"))
    try:
        parsed = hl7.parse(text.replace("\r\n", "\r"))
    except Exception as exc:  # noqa: BLE001 — whatever the library says, the sender gets an AR
        raise Rejected("AR", Problem("MSH", 0, 100, f"message illisible ({type(exc).__name__})")) from None
    for i, segment in enumerate(parsed, 1):
        name = str(segment[0]) if len(segment) else ""
        if not re.fullmatch(r"[A-Z][A-Z0-9]{2}", name):
            raise Rejected("AE", Problem(name[:3] or "?", 0, 100, f"segment n° {i} : nom « {name[:10]} » invalide "
                                                                   "(trois lettres ou chiffres attendus)", rank=i))
    return Message(parsed)


@dataclass
class Admission:
    """What an ADT message says, once checked."""

    event: str
    control_id: str
    ins: str
    ins_oid: str
    visit: str
    nom: str = ""
    prenom: str = ""
    naissance: str = ""
    sexe: str = ""
    kind: str = ""
    professional: str = ""
    secret: str | None = None       # oui | non | None (not collected)


def check(msg: Message, settings: Settings) -> Admission:
    """Every rule of the accepted profile; raises :class:`Rejected` naming each problem's segment and field."""
    msh = msg.segments("MSH")[0]
    mtype, event = msg.value(msh, 9, 1, 1), msg.value(msh, 9, 1, 2)
    if mtype != "ADT":
        raise Rejected("AR", Problem("MSH", 9, 200, f"MSH-9 : type de message « {mtype} » non pris en charge (attendu ADT)",
                                     component=1))
    if event not in EVENTS:
        raise Rejected("AR", Problem("MSH", 9, 201, f"MSH-9 : événement « {event} » non pris en charge "
                                                    f"(attendu {', '.join(EVENTS)})", component=2))
    processing = msg.value(msh, 11)
    if processing not in ("P", "T", "D"):
        raise Rejected("AR", Problem("MSH", 11, 202, f"MSH-11 : code de traitement « {processing} » invalide "
                                                     "(attendu P, T ou D)"))
    version = msg.value(msh, 12)
    if not (version == "2.5" or version.startswith("2.5.")):
        raise Rejected("AR", Problem("MSH", 12, 203, f"MSH-12 : version « {version} » non prise en charge (attendu 2.5)"))
    problems: list[Problem] = []
    control_id = msg.value(msh, 10)
    if not control_id:
        problems.append(Problem("MSH", 10, 101, "MSH-10 : identifiant du message absent"))
    names = [str(s[0]) for s in msg.parsed]
    for name in ("EVN", "PID", "PV1"):
        if name not in names:
            problems.append(Problem(name, 0, 100, f"segment {name} absent (requis dans ADT^{event})"))
    if "PID" in names and "PV1" in names and names.index("PV1") < names.index("PID"):
        problems.append(Problem("PV1", 0, 100, "segment PV1 placé avant le segment PID"))
    if "PID" not in names:
        raise Rejected("AE", *problems)
    pid = msg.segments("PID")[0]

    # PID-3: the INS, test OIDs only
    ins = ins_oid = ""
    refused: list[Problem] = []
    for rep in range(1, msg.repetitions(pid, 3) + 1):
        value, oid, kind = msg.value(pid, 3, rep, 1), msg.value(pid, 3, rep, 4, 2), msg.value(pid, 3, rep, 5)
        if kind != "INS" and oid not in INS_OIDS:
            continue
        if oid not in patients.TEST_INS_OIDS:
            refused.append(Problem("PID", 3, 103, f"PID-3 : INS sous l'OID « {oid or 'absent'} », qui n'est pas un OID "
                                                  "de test (1.2.250.1.213.1.4.10 ou .11) : refusé", repetition=rep,
                                   component=4))
        elif not (value.isdigit() and 13 <= len(value) <= 15):
            problems.append(Problem("PID", 3, 102, f"PID-3 : matricule INS « {value} » invalide (13 à 15 chiffres)",
                                    repetition=rep, component=1))
        elif not ins:
            ins, ins_oid = value, oid
    if refused:
        raise Rejected("AR", *refused)
    if not ins and not any(p.segment == "PID" and p.field == 3 for p in problems):
        problems.append(Problem("PID", 3, 101, "PID-3 : aucun INS (identifiant de type INS sous l'OID "
                                               "1.2.250.1.213.1.4.10 ou .11 en PID-3.4.2)"))

    pv1 = (msg.segments("PV1") or [None])[0]
    visit = msg.value(pv1, 19) if pv1 is not None else ""
    if pv1 is not None and not visit:
        problems.append(Problem("PV1", 19, 101, "PV1-19 : numéro de venue absent"))
    adm = Admission(event=event, control_id=control_id, ins=ins, ins_oid=ins_oid, visit=visit)
    if EVENTS[event] == "admission":
        adm.nom, adm.prenom = msg.value(pid, 5, 1, 1), msg.value(pid, 5, 1, 2)
        if not adm.nom or not adm.prenom:
            problems.append(Problem("PID", 5, 101, "PID-5 : nom de naissance et premier prénom requis"))
        birth = msg.value(pid, 7)
        try:
            adm.naissance = date(int(birth[:4]), int(birth[4:6]), int(birth[6:8])).isoformat()
            if not birth[:8].isdigit():
                raise ValueError
        except ValueError:
            problems.append(Problem("PID", 7, 101 if not birth else 102,
                                    f"PID-7 : date de naissance « {birth} » invalide (AAAAMMJJ)" if birth
                                    else "PID-7 : date de naissance absente"))
        adm.sexe = msg.value(pid, 8)
        if adm.sexe not in ("F", "M"):
            problems.append(Problem("PID", 8, 103, f"PID-8 : sexe « {adm.sexe} » non pris en charge (attendu F ou M)"))
        if pv1 is not None:
            klass = msg.value(pv1, 2)
            adm.kind = PATIENT_CLASSES.get(klass, "")
            if not adm.kind:
                problems.append(Problem("PV1", 2, 103, f"PV1-2 : classe de patient « {klass} » non prise en charge "
                                                       "(attendu I hospitalisation ou O consultation externe)"))
            rpps, nom, prenom = (msg.value(pv1, 7, 1, c) for c in (1, 2, 3))
            if nom:
                adm.professional = f"Dr {prenom + ' ' if prenom else ''}{nom}" + (f" ({rpps})" if rpps else "")
        adm.professional = adm.professional or f"flux d'admission {msg.value(msh, 3) or '(émetteur inconnu)'}"
        adm.secret, problem = read_secret(msg, settings.secret_field)
        if problem:
            problems.append(problem)
        elif adm.secret == "oui" and adm.naissance and patients.age(adm.naissance) >= 18:
            where = _secret_problem_place(msg, settings.secret_field)
            problems.append(Problem(where[0], settings.secret_field.field, 103, f"{settings.secret_field} : connexion "
                                    "secrète demandée pour un patient majeur (modalité réservée aux mineurs)",
                                    rank=where[1]))
    if problems:
        raise Rejected("AE", *problems)
    return adm


def _secret_problem_place(msg: Message, where: SecretField) -> tuple[str, int]:
    if where.code:
        for seg in msg.segments("OBX"):
            if msg.value(seg, 3, 1, 1) == where.code:
                return "OBX", msg.rank(seg)
    return where.segment, 1


def read_secret(msg: Message, where: SecretField) -> tuple[str | None, Problem | None]:
    """The connexion secrète the message carries: ``oui``, ``non`` or None (not collected), or the problem."""
    if where.code:
        segment = next((s for s in msg.segments("OBX") if msg.value(s, 3, 1, 1) == where.code), None)
    else:
        segment = (msg.segments(where.segment) or [None])[0]
    if segment is None:
        return None, None
    value = msg.value(segment, where.field, 1, 1)
    if value in ("", '""'):
        return None, None
    if value in ("Y", "N"):
        return ("oui" if value == "Y" else "non"), None
    return None, Problem(str(segment[0]), where.field, 103, f"{where} : valeur « {value} » invalide pour la connexion "
                         "secrète (attendu Y ou N, table HL7 0136)", rank=msg.rank(segment), component=1)


# -- applying it to the patient model -------------------------------------------------------------
def apply(adm: Admission, settings: Settings) -> str:
    """Record the message in the DPI's database; the French sentence of the AA acknowledgement."""
    c = db.connect(settings.db_path)
    try:
        c.execute("BEGIN IMMEDIATE")
        try:
            text = _apply(c, adm, settings)
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")
        return text
    finally:
        c.close()


def _episode(c, patient_id: int, visit: str):
    return c.execute("SELECT * FROM episodes WHERE patient_id=? AND visit_number=? ORDER BY id DESC",
                     (patient_id, visit)).fetchone()


def _apply(c, adm: Admission, settings: Settings) -> str:
    p = patients.find(c, adm.ins, adm.ins_oid)
    visit_problem = lambda code, text: Rejected("AE", Problem("PV1", 19, code, text))  # noqa: E731
    if EVENTS[adm.event] == "admission":
        if c.execute("SELECT 1 FROM episodes WHERE visit_number=?", (adm.visit,)).fetchone():
            raise visit_problem(205, f"PV1-19 : la venue {adm.visit} est déjà connue du DPI")
        if p is None:
            patient_id, _ = patients.create(c, {"nom": adm.nom, "prenom": adm.prenom, "naissance": adm.naissance,
                                                 "sexe": adm.sexe, "ins": adm.ins, "ins_oid": adm.ins_oid})
            p = patients.get(c, patient_id)
        open_ep = patients.open_episode(c, p["id"])
        if open_ep is not None:
            raise visit_problem(205, f"PV1-19 : un épisode est déjà en cours pour ce patient (épisode n° {open_ep['id']}"
                                     + (f", venue {open_ep['visit_number']}" if open_ep["visit_number"] else "") + ")")
        minor = patients.is_minor(p)
        secret = adm.secret if minor else None
        if "DMP/CONF.16-admission" in settings.defects:
            secret = None                    # the defect: the request is acknowledged, never stored
        cur = c.execute("INSERT INTO episodes(patient_id, kind, started_at, professional, information, consent,"
                        " secret_connection, visit_number, admit_message) VALUES (?,?,?,?,0,'',?,?,?)",
                        (p["id"], adm.kind, patients.now(), adm.professional, secret, adm.visit, adm.control_id))
        said = {"oui": "connexion secrète demandée", "non": "connexion secrète non demandée"}.get(adm.secret or "",
                                                                                               "connexion secrète non recueillie")
        return (f"admission enregistrée : épisode n° {cur.lastrowid} ({patients.KINDS[adm.kind]}), venue {adm.visit}, "
                f"patient {p['prenom']} {p['nom']}" + (f", {said}" if minor else ""))
    if p is None:
        raise Rejected("AE", Problem("PID", 3, 204, f"PID-3 : aucun patient du DPI n'a l'INS {adm.ins}"))
    ep = _episode(c, p["id"], adm.visit)
    if ep is None:
        raise visit_problem(204, f"PV1-19 : venue {adm.visit} inconnue pour ce patient")
    if ep["ended_at"]:
        raise visit_problem(204, f"PV1-19 : l'épisode de la venue {adm.visit} est déjà "
                                 + ("annulé" if ep["cancelled_at"] else "clos"))
    now = patients.now()
    if EVENTS[adm.event] == "discharge":
        c.execute("UPDATE episodes SET ended_at=? WHERE id=?", (now, ep["id"]))
        if "DMP/CONF.16-discharge" in settings.defects and ep["secret_connection"] == "oui":
            c.execute("UPDATE patients SET secret_connection='oui' WHERE id=?", (p["id"],))  # the defect
        return f"sortie enregistrée : fin de l'épisode n° {ep['id']} (venue {adm.visit})"
    c.execute("UPDATE episodes SET ended_at=?, cancelled_at=? WHERE id=?", (now, now, ep["id"]))
    return f"admission annulée : épisode n° {ep['id']} (venue {adm.visit})"


def handle(block: bytes, settings: Settings) -> bytes:
    """One MLLP block in, its acknowledgement out (bytes, in the message's character set). Never raises."""
    header: dict = {}
    encoding = "utf-8"
    try:
        text = decode(block, header)
        encoding = CHARSETS.get(header.get("charset", "").strip(), "utf-8")
        adm = check(parse(text), settings)
        ack, said, problems = "AA", apply(adm, settings), []
    except Rejected as exc:
        ack, problems = exc.ack, exc.problems
        said = ("message rejeté" if ack == "AR" else "message en erreur") + " : " + "; ".join(p.text for p in problems)
    except Exception as exc:  # noqa: BLE001 — a malformed message never stops the listener
        print(f"internal error on message {header.get('control_id', '?')}:\n{traceback.format_exc()}",
              file=sys.stderr, flush=True)
        ack, problems = "AE", [Problem("MSH", 0, 207, f"erreur interne du DPI ({type(exc).__name__})")]
        said = "message en erreur : " + problems[0].text
    out = acknowledgement(header, ack, said, problems, settings)
    print(f"{header.get('event') or '?'} {header.get('control_id') or '?'} → {ack}: {said}", flush=True)
    try:
        return out.encode(encoding if encoding != "ascii" else "utf-8")
    except UnicodeEncodeError:
        return out.encode("utf-8")


# -- the MLLP server ------------------------------------------------------------------------------
def _transport_ack(text: str, settings: Settings) -> bytes:
    return acknowledgement({}, "AR", text, [Problem("MSH", 0, 100, text)], settings).encode("utf-8")


async def serve(settings: Settings, host: str, port: int):
    """Start the listener; returns the asyncio server (``close()`` it to stop)."""
    async def client(reader, writer) -> None:
        try:
            while True:
                try:
                    block = await reader.readblock()
                except asyncio.IncompleteReadError:
                    return                               # the sender closed the connection
                except InvalidBlockError:
                    writer.writeblock(_transport_ack("trame MLLP invalide : le bloc ne commence pas par <VT> (0x0B)",
                                                     settings))
                    await writer.drain()
                    continue
                except ValueError:
                    writer.writeblock(_transport_ack(f"message trop long (plus de {MAX_MESSAGE} octets)", settings))
                    await writer.drain()
                    continue
                writer.writeblock(await asyncio.to_thread(handle, bytes(block), settings))
                await writer.drain()
        except (ConnectionError, OSError):
            return
        finally:
            writer.close()

    return await start_hl7_server(client, host, port, limit=MAX_MESSAGE)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo_dpi.pam", description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2575)
    ap.add_argument("--db", default="demo_dpi.sqlite", help="the demo DPI's SQLite database (created if absent)")
    ap.add_argument("--secret-field", default=DEFAULT_SECRET_FIELD,
                    help=f"where a minor's connexion secrète is read (provisional; default {DEFAULT_SECRET_FIELD})")
    ap.add_argument("--defect", action="append", default=[], metavar="NAME")
    args = ap.parse_args(argv)
    try:
        secret_field = SecretField.parse(args.secret_field)
    except ValueError as exc:
        print(f"error: --secret-field {exc}", file=sys.stderr)
        return 2
    defects = {defect_name(d) for d in args.defect}
    unknown = sorted(d for d in defects if d not in KNOWN_DEFECTS)
    if unknown:
        print(f"error: --defect {unknown[0]}: expected one of {', '.join(KNOWN_DEFECTS)}", file=sys.stderr)
        return 2
    settings = Settings(db_path=args.db, secret_field=secret_field, defects=defects)
    db.init(args.db)
    with db.connect(args.db) as c:
        patients.init(c)

    async def run() -> None:
        server = await serve(settings, args.host, args.port)
        print(f"demo_dpi.pam (HL7 v2.5 ADT over MLLP) on {args.host}:{args.port}, connexion secrète read in "
              f"{secret_field} (defects: {', '.join(sorted(defects)) or 'none'})", flush=True)
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
