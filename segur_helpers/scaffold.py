"""``segur init DIR``: a vendor's campaign folder; ``segur lab``: JupyterLab on the notebooks with a
campaign and the environment set.

``segur init`` writes, and never overwrites (an existing non-empty folder is refused):

- ``campaign.yaml``: the params, commented, pointing at the JSON Schema for editors, every requirement
  of the catalogue with neutral sample data (a fresh RPPS number per proof with ``{rpps}``, addresses
  under ``.example``, a TODO where only the product knows the answer, such as a profession's label) and a
  ``driver_settings:`` section for the driver's own addresses and selectors;
- ``<vendor>_driver.py``: a driver skeleton with one class per capability the catalogue's requirements
  need, each subclassing the toolkit's interface and carrying, per method, the contract's signature and
  docstring and a ``TODO`` body that ``segur driver check`` reports until it is written;
- ``manual/``: where the operator puts the evidence of manual steps (with a README).
"""
from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import yaml

from . import catalog
from .catalog.needs import analyse_scenario
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
  url: https://dpi-recette.example  # TODO: your test environment
  admin:
    username: TODO                  # the administrator's login
    password: env:DPI_ADMIN_PASSWORD   # read from this environment variable inside the kernel
driver: {module}:{cls}Driver        # the module next to this file; or yaml:map.yaml (no-code, docs/drivers.md)
driver_settings:                    # free settings handed to the driver (ctx.settings; self.driver.setting(name))
  login_path: TODO                  # the skeleton's admin_page(): the login page, e.g. /login
  username_field: TODO              # CSS selector of the login field, e.g. "#username"
  password_field: TODO              # CSS selector of the password field
  submit: TODO                      # the button that signs in
  logged_in: TODO                   # an element only a signed-in page shows
# allowed_dirs: [/srv/recette/maildir]   # files named outside this folder (mailbox, evidence…) must be in one of these
mailbox:                            # where the professionals' messages are read
  kind: maildir                     # or: kind: imap, host, port, username, password: env:NAME
  path: TODO/maildir
sms:                                # where the SMS sent to the professionals' mobiles are read (SSI/IE.32)
  kind: folder                      # one JSON file per SMS (your gateway's store or a test phone's export)
  path: TODO/sms
# cda: {{testcontenucda: TODO/TestContenuCDA}}   # optional: validate CDA documents with ANS's TestContenuCDA
# pam: {{url: mllp://TODO:2575, secret_field: OBX[CONNEXION_SECRETE]-5}}   # your admission feed (IHE PAM, DMP/CONF.16.02);
#                                    # the connexion secrète field is provisional until the French PAM extension is out
timeouts:
  mail_s: 30                        # wait for a message (s)
  step_s: 90                        # one step (s)
  proof_s: 600                      # one notebook (s)
# For each requirement: condition_met (conditional ones: false → NON APPLICABLE, with a justification)
# and the test data its scenario uses. Sample data: adapt it to your test environment (your test
# patients, your directory, your professions). In data, {{uniq}} is a fresh token per proof, {{rpps}} a fresh
# 11-digit test RPPS number with its key ({{rpps:other}} another one), {{digits:N}} N fresh digits, so each
# run makes new accounts. Steps done by hand are declared too, e.g. the mailbox read on a phone:
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

PROFESSION_TODO = "TODO profession telle que votre produit la nomme"
# the demo's own hosts, domains and switches → neutral placeholders (RFC 2606 .example domains)
NEUTRAL = [
    (re.compile(r"\.\./outputs/demo-target"), "TODO"),
    (re.compile(r"@[\w.-]*demo[\w.-]*\.test"), "@hopital.example"),
    (re.compile(r"https?://127\.0\.0\.1:\d+"), "https://TODO.hopital.example"),
    (re.compile(r"ldaps://127\.0\.0\.1:\d+"), "ldaps://annuaire.hopital.example:636"),
    (re.compile(r"dc=hopital-demo,dc=test"), "dc=hopital,dc=example"),
    (re.compile(r"DEMO-SEGUR-NIL-\d+"), "TODO n° d'enregistrement Ségur"),
    (re.compile(r"^env:DEMO_"), "env:"),                      # the demo's secret names
    (re.compile(r"^\w*demo$"), "TODO identifiant d'un professionnel de test"),   # its test users' logins
    (re.compile(r"^[A-Z]+DEMO$"), "TODO nom d'un compte existant du produit"),  # its seeded accounts
    (re.compile(r"de démonstration"), "de test"),
]
# accounts the scenarios create (a fresh RPPS per proof); other professionals must exist in the product
CREATED = {"SSI/IE.31": ("professional", "control_professional"), "SSI/IE.32": ("professional",)}


def _slug(vendor: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", vendor).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_") or "vendor"
    return ("v_" + s) if s[0].isdigit() else s


def _demo_requirements() -> dict:
    with open(TOOLKIT_ROOT / "params" / "demo.yaml", encoding="utf-8") as fh:
        return (yaml.safe_load(fh) or {}).get("requirements") or {}


def _neutral(rid: str, data):
    """The demo campaign's data for ``rid`` made neutral: professions to fill in, fresh RPPS numbers for
    the accounts a scenario creates, no demo host, domain or test switch."""
    def walk(node, path=()):
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k == "profession":
                    out[k] = PROFESSION_TODO
                elif k == "rpps" and path and path[0] in CREATED.get(rid, ()):
                    out[k] = "{rpps}" if path[0] == "professional" else "{rpps:" + path[0].split("_")[0] + "}"
                elif k == "kind" and isinstance(v, str) and v.startswith("demo"):   # a demo test switch
                    out[k] = "TODO vendor_module:ClasseDuCommutateurDeTest"
                elif k == "username" and path[-1:] == ("test_switch",):
                    out[k] = "TODO"
                else:
                    out[k] = walk(v, path + (k,))
            return out
        if isinstance(node, list):
            return [walk(v, path) for v in node]
        if isinstance(node, str):
            for pattern, repl in NEUTRAL:
                node = pattern.sub(repl, node)
        return node
    return walk(data)


def capabilities_needed() -> dict[str, set[str]]:
    """Every capability (but the generic mailbox) the catalogue's notebooks reach, with the methods called."""
    out: dict[str, set[str]] = {}
    for req in catalog.catalog().values():
        for scen in req.scenarios:
            for needs in analyse_scenario(scen):
                for cap, method in needs.required():
                    out.setdefault(cap, set()).add(method)
    out.pop("mailbox", None)      # generic readers the campaign configures (mailbox:, sms:)
    out.pop("sms", None)
    return out


BUILTIN_NAMES = {"str", "int", "float", "bool", "bytes", "dict", "list", "tuple", "set", "None", "Any"}


def _annotation(value) -> str:
    return value if isinstance(value, str) else getattr(value, "__name__", repr(value))


def _signature(fn) -> str:
    sig = inspect.signature(fn)
    parts, star = [], False
    for p in sig.parameters.values():
        if p.kind == p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        text = p.name
        if p.annotation is not p.empty:
            text += f": {_annotation(p.annotation)}"
        if p.default is not p.empty:
            text += (" = " if p.annotation is not p.empty else "=") + repr(p.default)
        parts.append(text)
    ret = "" if sig.return_annotation is sig.empty else f" -> {_annotation(sig.return_annotation)}"
    return f"({', '.join(parts)}){ret}"


def _docstring(doc: str, indent: str) -> str:
    body = "\n".join((indent + line) if line.strip() else "" for line in doc.splitlines())
    prefix = "r" if "\\" in doc else ""
    return f'{indent}{prefix}"""{body.lstrip()}\n{indent}"""'


def skeleton_classes(cls_prefix: str, vendor: str) -> tuple[str, str, str]:
    """(imports, classes, attach lines) of the driver skeleton: one class per needed capability."""
    from .drivers.contract import capability_interfaces

    interfaces = capability_interfaces()
    needed = capabilities_needed()
    bound: dict[str, type] = {}          # name in the skeleton → the class it stands for
    imports: dict[str, set[str]] = {}    # defining module → "Name" or "Name as Alias"

    def name_of(obj: type) -> str:
        """The name ``obj`` goes by in the skeleton, imported from its defining module (aliased when two
        interfaces' modules define the same name, e.g. patients' and documents' DocumentView)."""
        name = obj.__name__
        if bound.get(name, obj) is not obj:
            name = obj.__module__.rsplit(".", 1)[1].title().replace("_", "") + obj.__name__
        if name not in bound:
            bound[name] = obj
            imports.setdefault(obj.__module__, set()).add(obj.__name__ if name == obj.__name__
                                                           else f"{obj.__name__} as {name}")
        return name

    classes, attach = [], []
    for cap in sorted(needed):
        iface = interfaces[cap]
        module = sys.modules[iface.__module__]
        base = name_of(iface)
        name = f"{cls_prefix}{iface.__name__}"
        doc = (iface.__dict__.get("__doc__") or module.__doc__ or "").strip().split("\n\n")[0]
        lines = [f"class {name}({base}):",
                 _docstring(f"{inspect.cleandoc(doc)}\n\nInterface: {iface.__name__} from {iface.__module__}; "
                            f"the notebooks call {', '.join(sorted(needed[cap]))}.", "    "), ""]
        for meth_name in sorted(iface.__abstractmethods__, key=lambda m: list(vars(iface)).index(m)):
            fn = getattr(iface, meth_name)
            signature = _signature(fn)

            def local(m: re.Match) -> str:
                obj = getattr(module, m.group(0), None)
                if m.group(0) in BUILTIN_NAMES or not isinstance(obj, type) or m.start() and \
                        signature[m.start() - 1] == ".":
                    return m.group(0)
                return name_of(obj)
            signature = re.sub(r"(?<![\w.'\"])[A-Za-z_]\w*(?=[^\w]|$)", local, signature)
            kw = "async def" if inspect.iscoroutinefunction(fn) else "def"
            lines += ["    @todo", f"    {kw} {meth_name}{signature}:",
                      _docstring(inspect.getdoc(fn) or "", "        "),
                      f"        raise TodoError(\"{iface.__name__}.{meth_name} of {vendor}'s driver\")", ""]
        classes.append("\n".join(lines))
        attach.append(f"        self.{cap} = {name}(self)")
    import_lines = "\n".join(f"from {mod} import {', '.join(sorted(names))}" for mod, names in sorted(imports.items()))
    return import_lines, "\n\n".join(classes) + "\n", "\n".join(attach)


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
        entry = {"condition_met": True, "data": _neutral(req.id, (examples.get(req.id) or {}).get("data") or {})}
        body = yaml.safe_dump({req.id: entry}, allow_unicode=True, sort_keys=False, width=100)
        title = f"  # {req.id} — {req.title}" + (" (conditionnelle)" if req.conditional else "")
        blocks.append(title + "\n" + "".join("  " + line + "\n" for line in body.splitlines()))
    campaign = re.sub(r"[^A-Za-z0-9_.-]+", "-", slug)[:64]
    head = PARAMS_HEAD.format(schema=SCHEMA.as_uri(), vendor=vendor, vendor_yaml=yaml.safe_dump(vendor, allow_unicode=True).split("\n")[0],
                              params=folder / "campaign.yaml", campaign=campaign, module=module, cls=cls,
                              safe=safe_name(next(iter(catalog.catalog()))))
    imports, classes, attach = skeleton_classes(cls, vendor)
    driver = (TEMPLATES / "driver.py.tmpl").read_text(encoding="utf-8").format(
        vendor=vendor, cls=cls, module=module, imports=imports, classes=classes, attach=attach)
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
