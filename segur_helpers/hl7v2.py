"""HL7 v2.5 messages of the admission feed (IHE PAM, ITI-31) as the toolkit writes and reads them.

The toolkit plays the hospital's admission system (its GAM) towards the product: it composes ADT
messages (A01 admit, A04 register an outpatient, A03 discharge, A11 cancel an admission) for a test
patient, and reads the acknowledgement the product answers (MSA, ERR). The messages are sent by a
driver's ``admissions`` capability (:mod:`segur_helpers.drivers.admissions`); this module only makes and
reads text, so that a vendor's driver can reuse it whatever its transport.

What goes in a message (standard delimiters ``|^~\\&``, MSH-18 ``UNICODE UTF-8``, times in Paris time
with their offset):

- MSH (MSH-3/4 sender, MSH-5/6 receiver: the campaign's ``pam`` settings), EVN;
- PID: PID-3 the patient's INS only (``matricule^^^&OID&ISO^INS``; no other identifier, and only a test
  OID, 1.2.250.1.213.1.4.10 or .11, unless the campaign allows other patients), PID-5 name and first
  name, PID-7 birth date, PID-8 sex;
- PV1: PV1-2 ``I`` (hospitalisation) or ``O`` (external consultation), PV1-7 the admitting professional
  (RPPS ^ name ^ first name), PV1-19 the visit number, PV1-44 / PV1-45 admission / discharge time;
- ZBE (IHE PAM's movement segment): movement id, time, action ``INSERT`` (``CANCEL`` for A11), ``N``;
- the minor's connexion secrète, when the scenario gives it, in the field the campaign names
  (``pam.secret_field``, default :data:`DEFAULT_SECRET_FIELD`): **provisional**, the French PAM extension
  that will carry it is still being written by Interop'Santé. ``SEG-N`` is field N of segment SEG (added
  when the message has none); ``OBX[CODE]-N`` an OBX observation whose OBX-3 is the local code CODE.
  Value ``Y`` (requested) or ``N`` (HL7 table 0136). The demo DPI reads the same default
  (:mod:`demo_dpi.pam` says why this one).
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from .clock import PARIS

DEFAULT_SECRET_FIELD = "OBX[CONNEXION_SECRETE]-5"
LOCATOR = re.compile(r"^(?:(?P<seg>[A-Z][A-Z0-9]{2})|OBX\[(?P<code>[^\]\s|^~&\\]+)\])-(?P<field>[1-9][0-9]*)$")
TRIGGERS = {"A01": "ADT_A01", "A04": "ADT_A01", "A03": "ADT_A03", "A11": "ADT_A09"}
PATIENT_CLASS = {"hospitalisation": "I", "consultation": "O"}
SECRET_LABEL = "Connexion secrète DMP (patient mineur)"

# French labels of the fields a reviewer reads (others are shown with their HL7 number only)
FIELD_LABELS = {
    "MSH": {1: "Séparateur de champs", 2: "Caractères de codage", 3: "Application émettrice",
            4: "Établissement émetteur", 5: "Application destinataire", 6: "Établissement destinataire",
            7: "Date et heure du message", 9: "Type de message (type ^ événement ^ structure)",
            10: "Identifiant du message", 11: "Traitement (P production, T test, D débogage)",
            12: "Version HL7", 17: "Pays", 18: "Jeu de caractères"},
    "EVN": {2: "Date et heure de l'événement"},
    "PID": {3: "Identifiant du patient (INS : matricule ^^^ &OID&ISO ^ type)", 5: "Nom ^ prénom",
            7: "Date de naissance", 8: "Sexe"},
    "PV1": {2: "Classe de patient (I hospitalisation, O consultation externe)",
            7: "Professionnel responsable (RPPS ^ nom ^ prénom)", 19: "Numéro de venue",
            44: "Date et heure d'admission", 45: "Date et heure de sortie"},
    "ZBE": {1: "Identifiant du mouvement", 2: "Date et heure du mouvement", 4: "Action sur le mouvement",
            5: "Mouvement historique", 6: "Événement d'origine (annulation)"},
    "OBX": {1: "Rang", 2: "Type de valeur", 3: "Observation (code ^ libellé ^ système)", 5: "Valeur",
            11: "Statut du résultat"},
    "MSA": {1: "Code d'acquittement", 2: "Identifiant du message acquitté", 3: "Texte de l'acquittement"},
    "ERR": {2: "Emplacement (segment ^ rang ^ champ ^ répétition ^ composant)",
            3: "Code d'erreur HL7 (table 0357)", 4: "Gravité", 8: "Message pour l'utilisateur"},
}
EVENTS_FR = {"A01": "admission (hospitalisation)", "A04": "admission en consultation externe", "A03": "sortie",
             "A11": "annulation de l'admission"}
ACK_CODES = {"AA": "message accepté", "AE": "message en erreur", "AR": "message rejeté",
             "CA": "reçu (mode étendu)", "CE": "erreur (mode étendu)", "CR": "rejet (mode étendu)"}


# -- the setting that says where the connexion secrète goes ----------------------------------------
@dataclass(frozen=True)
class SecretField:
    """``SEG-N`` or ``OBX[CODE]-N`` (see the module's docstring)."""

    segment: str
    field: int
    code: str = ""

    @classmethod
    def parse(cls, text: str) -> "SecretField":
        m = LOCATOR.match(str(text).strip())
        if not m:
            raise ValueError(f"{text!r}: expected SEG-N (e.g. ZBE-9) or OBX[CODE]-N (e.g. {DEFAULT_SECRET_FIELD})")
        return cls("OBX", int(m["field"]), m["code"]) if m["code"] else cls(m["seg"], int(m["field"]))

    def __str__(self) -> str:
        return f"OBX[{self.code}]-{self.field}" if self.code else f"{self.segment}-{self.field}"


@dataclass
class FeedSettings:
    """The campaign's ``pam`` section: where the product listens and how the messages are addressed."""

    url: str
    secret_field: SecretField = field(default_factory=lambda: SecretField.parse(DEFAULT_SECRET_FIELD))
    sending_application: str = "SEGUR-PROOFS"
    sending_facility: str = "GAM-TEST"
    receiving_application: str = "DPI"
    receiving_facility: str = ""
    processing_id: str = "T"
    timeout_s: float = 10.0

    @classmethod
    def from_campaign(cls, section: dict | None) -> "FeedSettings":
        s = dict(section or {})
        out = cls(url=str(s.get("url", "")))
        if s.get("secret_field"):
            out.secret_field = SecretField.parse(str(s["secret_field"]))
        for key in ("sending_application", "sending_facility", "receiving_application", "receiving_facility",
                    "processing_id"):
            if s.get(key) is not None:
                setattr(out, key, str(s[key]))
        if s.get("timeout_s") is not None:
            out.timeout_s = float(s["timeout_s"])
        return out

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) of ``mllp://HOST:PORT``."""
        m = re.fullmatch(r"mllp://([^:/\s]+|\[[0-9a-fA-F:]+\]):(\d{1,5})/?", self.url.strip())
        if not m:
            raise ValueError(f"pam.url {self.url!r}: expected mllp://HOST:PORT")
        return m.group(1).strip("[]"), int(m.group(2))


# -- composing ------------------------------------------------------------------------------------
def escape(text: object) -> str:
    """A value written into a field (HL7 escape sequences for the delimiters)."""
    return (str(text).replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
            .replace("~", "\\R\\").replace("&", "\\T\\").replace("\r", " ").replace("\n", " "))


def hl7_time(d: datetime | None = None) -> str:
    """A time as HL7 writes it, in Paris time with its offset (``20261204141503+0100``)."""
    return (d or datetime.now(PARIS)).astimezone(PARIS).strftime("%Y%m%d%H%M%S%z")


def control_id() -> str:
    return "SEGUR" + datetime.now(PARIS).strftime("%Y%m%d%H%M%S") + secrets.token_hex(3).upper()


def _set(segments: list[list[str]], name: str, number: int, value: str) -> None:
    seg = next((s for s in segments if s[0] == name), None)
    if seg is None:
        seg = [name]
        segments.append(seg)
    while len(seg) <= number:
        seg.append("")
    seg[number] = value


def compose(event: str, patient: dict, *, visit: str, settings: FeedSettings, kind: str = "hospitalisation",
            professional: dict | None = None, secret_connection: bool | None = None,
            original_event: str = "A01", message_id: str | None = None, at: datetime | None = None) -> tuple[bytes, str]:
    """An ADT message (``event``: A01, A04, A03 or A11) for ``patient`` (nom, prenom, naissance YYYY-MM-DD,
    sexe, ins, ins_oid) and visit ``visit``: (its bytes, UTF-8 with CR between segments, its MSH-10)."""
    if event not in TRIGGERS:
        raise ValueError(f"ADT event {event!r}: expected one of {', '.join(TRIGGERS)}")
    if kind not in PATIENT_CLASS:
        raise ValueError(f"kind {kind!r}: expected hospitalisation or consultation")
    now = hl7_time(at)
    msg_id = message_id or control_id()
    msh = ["MSH", "^~\\&", escape(settings.sending_application), escape(settings.sending_facility),
           escape(settings.receiving_application), escape(settings.receiving_facility), now, "",
           f"ADT^{event}^{TRIGGERS[event]}", escape(msg_id), escape(settings.processing_id), "2.5", "", "", "", "",
           "FRA", "UNICODE UTF-8"]
    pid = ["PID", "", "", f"{escape(patient['ins'])}^^^&{escape(patient['ins_oid'])}&ISO^INS", "",
           f"{escape(str(patient['nom']).upper())}^{escape(patient['prenom'])}^^^^^L", "",
           str(patient["naissance"]).replace("-", ""), escape(patient.get("sexe", ""))]
    pv1 = ["PV1", "", PATIENT_CLASS[kind]]
    segments = [msh, ["EVN", "", now], pid, pv1]
    if professional:
        _set(segments, "PV1", 7, f"{escape(professional.get('rpps', ''))}^{escape(str(professional['nom']).upper())}"
                                 f"^{escape(professional.get('prenom', ''))}")
    _set(segments, "PV1", 19, f"{escape(visit)}^^^{escape(settings.sending_application)}^VN")
    if event in ("A01", "A04"):
        _set(segments, "PV1", 44, now)
    elif event == "A03":
        _set(segments, "PV1", 45, now)
    movement = {"A01": "ADM", "A04": "ADM", "A03": "SOR", "A11": "ADM"}[event]
    segments.append(["ZBE", f"{escape(visit)}-{movement}^{escape(settings.sending_application)}", now, "",
                     "CANCEL" if event == "A11" else "INSERT", "N"] + ([original_event] if event == "A11" else []))
    if secret_connection is not None:
        where, value = settings.secret_field, ("Y" if secret_connection else "N")
        if where.code:
            obx = ["OBX", "1", "CE", f"{escape(where.code)}^{escape(SECRET_LABEL)}^L"]
            while len(obx) <= max(where.field, 11):
                obx.append("")
            obx[where.field] = f"{value}^{'Oui' if secret_connection else 'Non'}^HL70136" if where.field == 5 else value
            obx[11] = obx[11] or "F"
            segments.append(obx)
        else:
            _set(segments, where.segment, where.field, value)
    # MSH's list holds MSH-2 at index 1 (MSH-1 is the separator itself); other segments hold field n at index n
    text = "\r".join("|".join(s).rstrip("|") for s in segments) + "\r"
    return text.encode("utf-8"), msg_id


# -- reading --------------------------------------------------------------------------------------
@dataclass
class Segment:
    name: str
    rank: int                  # among the segments of that name, from 1
    fields: dict[int, str]     # HL7 field number → value as written (escaped, components joined by ^)


def split(raw: bytes | str) -> list[Segment]:
    """The segments of a message as written, fields numbered as HL7 does (MSH-1 the separator)."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    sep = text[3] if text.startswith("MSH") and len(text) > 3 else "|"
    out: list[Segment] = []
    counts: dict[str, int] = {}
    for line in (s for s in text.split("\r") if s.strip()):
        parts = line.split(sep)
        name = parts[0][:3]
        counts[name] = counts.get(name, 0) + 1
        if name == "MSH":
            numbered = {1: sep, **{i: v for i, v in enumerate(parts[1:], 2)}}
        else:
            numbered = {i: v for i, v in enumerate(parts[1:], 1)}
        out.append(Segment(name, counts[name], numbered))
    return out


def value(raw: bytes | str, name: str, number: int, component: int = 0, rank: int = 1) -> str:
    """One field (or component, from 1) of the ``rank``-th segment ``name``; '' if absent."""
    seg = next((s for s in split(raw) if s.name == name and s.rank == rank), None)
    text = seg.fields.get(number, "") if seg else ""
    if component:
        parts = text.split("~")[0].split("^")
        text = parts[component - 1] if len(parts) >= component else ""
    return unescape(text)


def unescape(text: str) -> str:
    return (text.replace("\\F\\", "|").replace("\\S\\", "^").replace("\\R\\", "~").replace("\\T\\", "&")
            .replace("\\E\\", "\\"))


def secret_in(raw: bytes | str, where: SecretField) -> str:
    """The connexion secrète value a message carries in ``where`` ('' if none)."""
    for seg in split(raw):
        if seg.name != where.segment:
            continue
        if where.code and seg.fields.get(3, "").split("^")[0] != where.code:
            continue
        return unescape(seg.fields.get(where.field, "").split("^")[0])
    return ""


def ins_identifiers(raw: bytes | str) -> list[tuple[str, str]]:
    """(identifier, OID) of every PID-3 repetition of a message."""
    out = []
    for seg in split(raw):
        if seg.name == "PID":
            for rep in seg.fields.get(3, "").split("~"):
                parts = rep.split("^")
                authority = parts[3].split("&") if len(parts) > 3 else []
                out.append((unescape(parts[0]), authority[1] if len(authority) > 1 else ""))
    return out


@dataclass
class AckError:
    location: str              # ERR-2 as written (PID^1^3^1^4)
    code: str                  # ERR-3.1 (table 0357)
    text: str                  # ERR-8, else ERR-3.2

    @property
    def where(self) -> str:
        """« PID-3 » for ``PID^1^3^…``; the segment alone when no field is named."""
        parts = self.location.split("^")
        return f"{parts[0]}-{parts[2]}" if len(parts) > 2 and parts[2] else (parts[0] if parts else "")


@dataclass
class Ack:
    code: str = ""             # MSA-1
    acknowledged_id: str = ""  # MSA-2
    text: str = ""             # MSA-3
    errors: list[AckError] = field(default_factory=list)


def read_ack(raw: bytes | str) -> Ack:
    ack = Ack(code=value(raw, "MSA", 1), acknowledged_id=value(raw, "MSA", 2), text=value(raw, "MSA", 3))
    for seg in split(raw):
        if seg.name == "ERR":
            code = seg.fields.get(3, "").split("^")
            ack.errors.append(AckError(location=seg.fields.get(2, ""), code=code[0],
                                       text=unescape(seg.fields.get(8, "")) or (code[1] if len(code) > 1 else "")))
    return ack


def reading(name: str, number: int, text: str) -> str:
    """What a field says, in French, for the fields a reviewer needs read for them ('' otherwise)."""
    v = unescape(text)
    if name in ("MSH", "EVN", "PV1", "ZBE") and (name, number) in {("MSH", 7), ("EVN", 2), ("PV1", 44), ("PV1", 45),
                                                                  ("ZBE", 2)}:
        try:
            from .fr import when
            return when(datetime.strptime(v[:19], "%Y%m%d%H%M%S%z"))
        except ValueError:
            return ""
    if (name, number) == ("PID", 3):
        parts = text.split("^")
        oid = parts[3].split("&")[1] if len(parts) > 3 and "&" in parts[3] else ""
        label = {"1.2.250.1.213.1.4.10": "NIR de test", "1.2.250.1.213.1.4.11": "NIA de test"}.get(oid, "OID hors test")
        return f"INS {unescape(parts[0])} sous l'OID {oid or '(absent)'} ({label})"
    if (name, number) == ("PID", 7) and len(v) >= 8:
        return f"{v[6:8]}/{v[4:6]}/{v[:4]}"
    if (name, number) == ("PID", 8):
        return {"F": "féminin", "M": "masculin"}.get(v, "")
    if (name, number) == ("MSH", 9):
        parts = text.split("^")
        said = EVENTS_FR.get(parts[1] if len(parts) > 1 else "", "")
        return (f"acquittement d'un message {parts[1]}" if parts[0] == "ACK" and len(parts) > 1
                else f"{parts[0]} {parts[1]} : {said}" if said else "")
    if (name, number) == ("PV1", 2):
        return {"I": "hospitalisation", "O": "consultation externe"}.get(v, "")
    if (name, number) == ("PV1", 19):
        return f"venue {unescape(text.split('^')[0])}"
    if (name, number) == ("ZBE", 4):
        return {"INSERT": "création du mouvement", "CANCEL": "annulation du mouvement",
                "UPDATE": "mise à jour du mouvement"}.get(v, "")
    if (name, number) == ("ERR", 4):
        return {"E": "erreur", "W": "avertissement", "I": "information"}.get(v, "")
    if (name, number) == ("MSA", 1):
        return ACK_CODES.get(v, "")
    if (name, number) == ("OBX", 3):
        parts = text.split("^")
        return f"code local {unescape(parts[0])}" if len(parts) > 2 and parts[2] == "L" else ""
    if name == "OBX" and number == 5 and v[:1] in ("Y", "N"):
        return "oui" if v[:1] == "Y" else "non"
    return ""
