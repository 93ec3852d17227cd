"""``segur init DIR``: a vendor's campaign folder; ``segur lab``: JupyterLab on the notebooks with a
campaign and the environment set.

``segur init`` writes, and never overwrites (an existing non-empty folder is refused):

- ``campaign.yaml``: the params, commented, pointing at the JSON Schema for editors, every
  requirement of the catalogue with the demo campaign's example data;
- ``<vendor>_driver.py``: a driver module skeleton whose TODO constants are your product's URLs and
  selectors (each comment gives the demo DPI's value);
- ``manual/``: where the operator puts the evidence of manual steps (with a README).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import yaml

from . import catalog
from .catalog.needs import analyse_module, scenario_modules
from .errors import UserError
from .ids import safe_name
from .proof import TOOLKIT_ROOT

TEMPLATES = Path(__file__).with_name("templates")
SCHEMA = Path(__file__).with_name("params.schema.json")

PARAMS_HEAD = """\
# yaml-language-server: $schema={schema}
# Campaign of {vendor} for segur-proofs (made by `segur init`). Fill in every TODO, then:
#   segur driver check {params}     what the driver provides, before any run
#   segur run {params}              one PDF proof per scenario in scope
#   segur lab {params}              JupyterLab on the notebooks, this campaign preselected
# Relative paths are relative to this file's folder. Secrets are references (env:NAME), never values.
campaign: {campaign}                 # folder name under outputs/ (letters, digits, - _ .)
vendor: {vendor_yaml}
product:
  name: TODO product name           # shown on every proof's cover
  version: "TODO"                   # the version under test (quoted)
operator: TODO team or person       # who runs the campaign, shown on every proof
target:
  url: https://dpi-recette.example.test   # TODO: your test environment (the demo DPI: http://127.0.0.1:8765)
  admin:
    username: TODO                  # the administrator's login (demo: admin)
    password: env:DPI_ADMIN_PASSWORD   # read from this environment variable inside the kernel
driver: {module}:{cls}Driver        # the module next to this file; or yaml:map.yaml (no-code) or demo
# allowed_dirs: [/srv/recette/maildir]   # files named outside this folder (mailbox, evidence…) must be in one of these
mailbox:                            # where the professionals' messages are read
  kind: maildir                     # or: kind: imap, host, port, username, password: env:NAME
  path: TODO/maildir                # (the demo DPI's mail sink: outputs/demo-target/maildir)
sms:                                # where the SMS sent to the professionals' mobiles are read (SSI/IE.32)
  kind: folder                      # one JSON file per SMS (your gateway's store or a test phone's export)
  path: TODO/sms                    # (the demo DPI's SMS gateway: outputs/demo-target/sms)
# cda: {{testcontenucda: TODO/TestContenuCDA}}   # optional: validate CDA documents with ANS's TestContenuCDA
timeouts:
  mail_s: 30                        # wait for a message (s)
  step_s: 90                        # one step (s)
  proof_s: 600                      # one notebook (s)
# For each requirement: condition_met (conditional ones: false → NON APPLICABLE, with a justification),
# the test data its scenario uses ({{uniq}} = a fresh token per proof, so each run makes new accounts),
# and the steps done by hand, e.g. the mailbox read on a phone:
#   manual:
#     2:
#       evidence: manual/{safe}/etape-2.eml        # put the file there before a batch run
#       attestation: {{by: "Nom, fonction", at: "2026-11-25T14:05", action: "ce qui a été fait"}}
requirements:
"""

MANUAL_README = """\
# Preuves des étapes manuelles

Une étape que le pilote ne peut pas réaliser (carte CPS, double authentification sur un téléphone,
action dans l'environnement de test de la CNDA) est déclarée dans `campaign.yaml`, sous
`requirements.<exigence>.manual.<étape>` : le fichier de preuve attendu (capture d'écran, message
`.eml`, PDF, CSV) et l'attestation de l'opérateur (`by` : qui, `at` : quand, `action` : ce qui a été fait).

Déposez ici les fichiers, un dossier par exigence (par exemple `manual/SSI_IE.31/etape-2.eml`).
En lot (`segur run`), un fichier absent rend la preuve ERREUR en le nommant ; dans JupyterLab, le
carnet demande le chemin du fichier et l'attestation au moment de l'étape.
"""


def _slug(vendor: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", vendor).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_") or "vendor"
    return ("v_" + s) if s[0].isdigit() else s


# The capabilities the driver skeleton (templates/driver.py.tmpl) implements.
SKELETON_CAPABILITIES = {"accounts", "mailbox"}


def _demo_requirements() -> dict:
    with open(TOOLKIT_ROOT / "params" / "demo.yaml", encoding="utf-8") as fh:
        return (yaml.safe_load(fh) or {}).get("requirements") or {}


def scaffold(folder: Path, vendor: str) -> list[Path]:
    """Write the campaign folder; refuse (UserError) if it exists and is not empty."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UserError("exists and is not empty; expected a new folder (nothing is overwritten)", file=str(folder))
    slug = _slug(vendor)
    cls = "".join(p.capitalize() for p in slug.split("_"))
    module = f"{slug}_driver"
    examples = _demo_requirements()
    blocks = []
    for req in catalog.catalog().values():
        entry = {"condition_met": True, "data": (examples.get(req.id) or {}).get("data") or {}}
        body = yaml.safe_dump({req.id: entry}, allow_unicode=True, sort_keys=False, width=100)
        title = f"  # {req.id} — {req.title}" + (" (conditionnelle)" if req.conditional else "")
        needed = sorted({cap for s in req.scenarios for mod in scenario_modules(s)
                         for cap, _ in analyse_module(mod).required()} - SKELETON_CAPABILITIES)
        if needed:
            # in scope once the driver provides these capabilities: the skeleton runs as it is
            title += f"\n  # à activer (décommenter) quand le pilote fournit : {', '.join(needed)}"
            blocks.append(title + "\n" + "".join("  # " + line + "\n" for line in body.splitlines()))
        else:
            blocks.append(title + "\n" + "".join("  " + line + "\n" for line in body.splitlines()))
    campaign = re.sub(r"[^A-Za-z0-9_.-]+", "-", slug)[:64]
    head = PARAMS_HEAD.format(schema=SCHEMA.as_uri(), vendor=vendor, vendor_yaml=yaml.safe_dump(vendor, allow_unicode=True).split("\n")[0],
                              params=folder / "campaign.yaml", campaign=campaign, module=module, cls=cls,
                              safe=safe_name(next(iter(catalog.catalog()))))
    driver = (TEMPLATES / "driver.py.tmpl").read_text(encoding="utf-8").format(vendor=vendor, cls=cls, module=module)
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "campaign.yaml", folder / f"{module}.py", folder / "manual" / "README.md"]
    written[0].write_text(head + "".join(blocks), encoding="utf-8")
    written[1].write_text(driver, encoding="utf-8")
    (folder / "manual").mkdir()
    written[2].write_text(MANUAL_README, encoding="utf-8")
    return written


def _cmd_init(args) -> int:
    written = scaffold(Path(args.folder), args.vendor)
    for p in written:
        print(f"wrote {p}")
    print(f"next: fill in the TODOs of {written[0].name} and {written[1].name}, then "
          f"`segur driver check {written[0]}`")
    return 0


def lab_environment(params: str | None) -> dict[str, str]:
    env = os.environ.copy()
    root = str(TOOLKIT_ROOT)
    if root not in env.get("PYTHONPATH", "").split(os.pathsep):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    if params:
        from .params import load_campaign
        camp = load_campaign(params)
        camp.check_secrets_available()
        env["SEGUR_CAMPAIGN"] = str(camp.path)
    return env


def _cmd_lab(args) -> int:
    env = lab_environment(args.params)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--notebook-dir={TOOLKIT_ROOT / 'notebooks'}",
           "--ServerApp.ip=127.0.0.1"]
    if args.port:
        cmd.append(f"--ServerApp.port={args.port}")
    if args.params:
        print(f"campaign for the notebooks: {env['SEGUR_CAMPAIGN']} (SEGUR_CAMPAIGN)")
    return subprocess.call(cmd, env=env)


def register(subparsers) -> None:
    init = subparsers.add_parser("init", help="scaffold a vendor's campaign folder (params, driver skeleton, "
                                              "manual evidence folder)")
    init.add_argument("folder", help="a new folder")
    init.add_argument("--vendor", default="Mon éditeur", help="the vendor's name")
    init.set_defaults(func=_cmd_init)
    lab = subparsers.add_parser("lab", help="JupyterLab on the notebooks, the campaign and environment set")
    lab.add_argument("params", nargs="?", help="campaign params file the notebooks use (SEGUR_CAMPAIGN)")
    lab.add_argument("--port", type=int, help="port (default: JupyterLab's choice)")
    lab.set_defaults(func=_cmd_lab)
