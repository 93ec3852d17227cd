"""The one patient model of demo_dpi: patients, their care episodes and the DMP consent of each episode.

Every screen that names a patient reads this table: the care screens (patient file, admission,
discharge), the documents' writing form and the DMP feeding. A patient has a qualified INS under a
*test* OID only (1.2.250.1.213.1.4.10 NIR, .11 NIA). The consent to the DMP is recorded per care
episode (information delivered; non-opposition or opposition; for a minor, the *connexion secrète*
modality), from admission to discharge: with no open episode, nothing is recorded. While a minor's
episode carries the connexion secrète, the DPI does not consult the DMP from the file
(:func:`secret_block`).

An episode is opened either in the DPI's own admission form or by the hospital's admission feed (IHE PAM,
HL7 v2.5 ADT over MLLP, :mod:`demo_dpi.pam`): such an episode keeps its visit number (PV1-19) and the
control id of the message that opened it, and may be cancelled (A11) as well as closed (A03).

Four test patients are seeded with their DMP situations (used by the documents' proofs): an ordinary
one, one whose opposition to the DMP is recorded in the current episode, one with no DMP and one whose
DMP refuses this establishment (the last two are known to the DMP simulator,
``demo_dpi.dmp_sim.PATIENT_SITUATIONS``).
"""
from __future__ import annotations

from datetime import date, datetime, timezone

TEST_INS_OIDS = {"1.2.250.1.213.1.4.10": "NIR (test)", "1.2.250.1.213.1.4.11": "NIA (test)"}
INS_NIR_TEST = "1.2.250.1.213.1.4.10"
KINDS = {"hospitalisation": "Hospitalisation", "consultation": "Consultation externe"}
CONSENT_LABELS = {"accord": "Non-opposition enregistrée", "opposition": "Opposition du patient",
                  "": "Non recueilli"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS patients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    nom TEXT NOT NULL, prenom TEXT NOT NULL, naissance TEXT NOT NULL, sexe TEXT NOT NULL,
    ins TEXT NOT NULL, ins_oid TEXT NOT NULL,
    ins_qualified INTEGER NOT NULL DEFAULT 1,
    secret_connection TEXT,            -- only used by the DMP/CONF.16 defect (kept on the patient)
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (ins, ins_oid)
);
CREATE TABLE IF NOT EXISTS episodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    kind TEXT NOT NULL,                -- hospitalisation | consultation (external)
    started_at TEXT NOT NULL, ended_at TEXT,
    professional TEXT NOT NULL,
    information INTEGER NOT NULL DEFAULT 0,   -- patient informed about the DMP
    consent TEXT NOT NULL DEFAULT '',         -- accord (non-opposition) | opposition | '' (not recorded)
    secret_connection TEXT,                   -- minors: oui | non | NULL (not asked)
    visit_number TEXT,                        -- admission feed: PV1-19 (NULL for the DPI's own form)
    admit_message TEXT,                       -- admission feed: MSH-10 of the A01/A04 that opened it
    cancelled_at TEXT                         -- admission feed: cancelled by an A11 (then also ended)
);
"""
# columns added since the first databases were made (make demo keeps its database between runs)
EPISODE_COLUMNS = ("visit_number", "admit_message", "cancelled_at")

# (INS-NIR with its key, nom, prénom, naissance, sexe, consent of the open episode, DMP situation)
SEED_PATIENTS = (
    ("280052A00401271", "SEGURTEST", "Camille", "1980-05-12", "F", "accord", "DMP ouvert"),
    ("175037510801267", "OPPOSITEST", "Claude", "1975-03-18", "M", "opposition",
     "opposition à l'alimentation du DMP enregistrée"),
    ("290116912304559", "SANSDMPTEST", "Dominique", "1990-11-07", "F", "accord", "pas de DMP"),
    ("168071305507883", "DROITSTEST", "Alix", "1968-07-21", "M", "accord", "DMP fermé à cet établissement"),
)
SEED_PROFESSIONAL = "Dr ACCUEIL (10100000001)"


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def init(conn) -> None:
    """Create the tables and seed the four test patients (each in an open hospitalisation)."""
    conn.executescript(SCHEMA)
    have = {row[1] for row in conn.execute("PRAGMA table_info(episodes)")}
    for column in EPISODE_COLUMNS:
        if column not in have:
            conn.execute(f"ALTER TABLE episodes ADD COLUMN {column} TEXT")
    for ins, nom, prenom, naissance, sexe, consent, _situation in SEED_PATIENTS:
        cur = conn.execute("INSERT OR IGNORE INTO patients(nom, prenom, naissance, sexe, ins, ins_oid)"
                           " VALUES (?,?,?,?,?,?)", (nom, prenom, naissance, sexe, ins, INS_NIR_TEST))
        if cur.rowcount:
            conn.execute("INSERT INTO episodes(patient_id, kind, started_at, professional, information, consent)"
                         " VALUES (?,?,?,?,1,?)", (cur.lastrowid, "hospitalisation", now(), SEED_PROFESSIONAL,
                                                   consent))


def age(naissance: str, on: date | None = None) -> int:
    on = on or date.today()
    b = date.fromisoformat(naissance)
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def is_minor(p) -> bool:
    return age(p["naissance"]) < 18


def listing(conn, limit: int = 200):
    """Patients, newest first, with the kind and consent of their open episode (if any)."""
    return conn.execute(
        "SELECT p.*, e.kind AS open_kind, e.consent AS open_consent FROM patients p LEFT JOIN episodes e"
        " ON e.patient_id=p.id AND e.ended_at IS NULL ORDER BY p.id DESC LIMIT ?", (limit,)).fetchall()


def get(conn, patient_id: int):
    return conn.execute("SELECT * FROM patients WHERE id=?", (patient_id,)).fetchone()


def find(conn, ins: str, ins_oid: str | None = None):
    """The patient with this INS (under ``ins_oid``, or under any test OID when it is not given)."""
    if ins_oid:
        return conn.execute("SELECT * FROM patients WHERE ins=? AND ins_oid=?", (ins, ins_oid)).fetchone()
    return conn.execute("SELECT * FROM patients WHERE ins=? ORDER BY id", (ins,)).fetchone()


def form_errors(f: dict) -> list[str]:
    """What is wrong with a patient form (nom, prenom, naissance, sexe, ins, ins_oid), in French."""
    errors = []
    if f["ins_oid"] not in TEST_INS_OIDS:
        errors.append("Environnement de démonstration : seuls les INS de test (OID 1.2.250.1.213.1.4.10/11) sont acceptés.")
    if not (f["ins"].isdigit() and 13 <= len(f["ins"]) <= 15):
        errors.append("Le matricule INS doit comporter 13 à 15 chiffres.")
    try:
        date.fromisoformat(f["naissance"])
    except ValueError:
        errors.append("Date de naissance invalide.")
    if not f["nom"] or not f["prenom"] or f["sexe"] not in ("F", "M"):
        errors.append("Nom, prénom et sexe sont obligatoires.")
    return errors


def create(conn, f: dict) -> tuple[int, bool]:
    """Register a patient from a checked form: (id, True), or (id of the same INS, False) if known."""
    row = find(conn, f["ins"], f["ins_oid"])
    if row is not None:
        return row["id"], False
    cur = conn.execute("INSERT INTO patients(nom, prenom, naissance, sexe, ins, ins_oid) VALUES (?,?,?,?,?,?)",
                       (f["nom"].upper(), f["prenom"], f["naissance"], f["sexe"], f["ins"], f["ins_oid"]))
    return cur.lastrowid, True


def open_episode(conn, patient_id: int):
    return conn.execute("SELECT * FROM episodes WHERE patient_id=? AND ended_at IS NULL ORDER BY id DESC",
                        (patient_id,)).fetchone()


def last_visit(conn, patient_id: int) -> str:
    row = conn.execute("SELECT max(ended_at) FROM episodes WHERE patient_id=? AND ended_at IS NOT NULL"
                       " AND cancelled_at IS NULL", (patient_id,)).fetchone()
    return row[0] or ""


SECRET_BLOCK = ("connexion secrète demandée par le patient mineur pour l'épisode en cours : le DMP n'est pas "
                "consulté depuis le dossier pendant cet épisode")


def secret_block(ep) -> str:
    """Why the DMP is not consulted in episode ``ep`` because of a minor's connexion secrète ('' if not)."""
    return SECRET_BLOCK if ep is not None and ep["secret_connection"] == "oui" else ""


def dmp_refusal(ep, use: str) -> str:
    """Why the DMP may not be used (``use``: consultation | alimentation) in episode ``ep``; '' if it may."""
    if ep is None:
        return "aucun épisode de soins en cours : la non-opposition du patient n'est pas enregistrée"
    if ep["consent"] == "opposition":
        return ("opposition du patient à l'alimentation de son DMP" if use == "alimentation"
                else "le patient s'est opposé à l'accès à son DMP")
    if ep["consent"] != "accord":
        return "la non-opposition du patient n'est pas enregistrée pour l'épisode en cours"
    return ""


def for_cda(p) -> dict:
    """The patient as the CDA generator names its fields (``demo_dpi.cda_gen``)."""
    return {"ins": p["ins"], "ins_oid": p["ins_oid"], "ipp": f"IPP-{p['id']:06d}", "nom": p["nom"],
            "prenom": p["prenom"], "birth_date": p["naissance"].replace("-", ""), "sex": p["sexe"]}
