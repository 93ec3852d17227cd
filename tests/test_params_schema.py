"""The JSON Schema editors use (segur_helpers/params.schema.json) agrees with params.py's validation."""
from __future__ import annotations

import copy
import json

import jsonschema
import pytest
import yaml

from conftest import ROOT, campaign_dict
from segur_helpers.errors import UserError
from segur_helpers.params import load_campaign

SCHEMA = json.loads((ROOT / "segur_helpers" / "params.schema.json").read_text(encoding="utf-8"))
jsonschema.Draft202012Validator.check_schema(SCHEMA)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _set(path, value):
    def apply(d):
        node = d
        for k in path[:-1]:
            node = node[k]
        if value is KeyError:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return apply


R = ("requirements", "SSI/IE.31")
MUTATIONS = {  # name: (mutation, accepted by both?)
    "as shipped": (lambda d: None, True),
    "no vendor": (_set(("vendor",), KeyError), False),
    "no target url": (_set(("target", "url"), KeyError), False),
    "ftp url": (_set(("target", "url"), "ftp://dpi.test"), False),
    "blank operator": (_set(("operator",), "  "), False),
    "bad campaign name": (_set(("campaign",), "my campaign!"), False),
    "module driver": (_set(("driver",), "vendor_pkg.segur:Driver"), True),
    "yaml driver": (_set(("driver",), "yaml:maps/dpi.yaml"), True),
    "bad driver": (_set(("driver",), "Not A Driver"), False),
    "literal password": (_set(("target", "admin", "password"), "hunter2"), False),
    "imap without host": (_set(("mailbox",), {"kind": "imap", "username": "u", "password": "env:X"}), False),
    "imap": (_set(("mailbox",), {"kind": "imap", "host": "h", "username": "u", "password": "env:X"}), True),
    "pop3": (_set(("mailbox",), {"kind": "pop3"}), False),
    "maildir without path": (_set(("mailbox",), {"kind": "maildir"}), False),
    "unknown timeout": (_set(("timeouts",), {"page_s": 3}), False),
    "negative timeout": (_set(("timeouts",), {"mail_s": -1}), False),
    "no requirements": (_set(("requirements",), {}), False),
    "condition not boolean": (_set(R + ("condition_met",), "yes"), False),
    "data not mapping": (_set(R + ("data",), ["x"]), False),
    "manual step": (_set(R + ("manual",), {2: {"evidence": "manuel/etape-2.eml", "attestation": {
        "by": "J. Martin", "at": "2026-11-25T14:05", "action": "relevé"}}}), True),
    "manual files list": (_set(R + ("manual",), {2: {"evidence": ["a.png", "b.pdf"]}}), True),
    "manual without evidence": (_set(R + ("manual",), {2: {"attestation": {"by": "x"}}}), False),
    "manual unknown key": (_set(R + ("manual",), {2: {"evidence": "a.eml", "note": "x"}}), False),
    "attestation unknown key": (_set(R + ("manual",), {2: {"evidence": "a.eml", "attestation": {"who": "x"}}}), False),
    "pam feed": (_set(("pam",), {"url": "mllp://127.0.0.1:2575", "secret_field": "ZBE-9", "processing_id": "P",
                                 "timeout_s": 5}), True),
    "pam obx field": (_set(("pam",), {"url": "mllp://[::1]:2575", "secret_field": "OBX[CS_DMP]-5"}), True),
    "pam without url": (_set(("pam",), {"secret_field": "ZBE-9"}), False),
    "pam http url": (_set(("pam",), {"url": "http://127.0.0.1:2575"}), False),
    "pam bad secret field": (_set(("pam",), {"url": "mllp://h:1", "secret_field": "OBX-five"}), False),
    "pam unknown key": (_set(("pam",), {"url": "mllp://h:1", "port": 2575}), False),
    "pam processing": (_set(("pam",), {"url": "mllp://h:1", "processing_id": "X"}), False),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_schema_and_loader_agree(name, tmp_path, write_params):
    mutate, accepted = MUTATIONS[name]
    data = campaign_dict("http://127.0.0.1:9", tmp_path / "maildir")
    mutate(data)
    schema_ok = not list(VALIDATOR.iter_errors(json.loads(json.dumps(data))))
    try:
        load_campaign(write_params(copy.deepcopy(data)))
        loader_ok = True
    except UserError:
        loader_ok = False
    assert (schema_ok, loader_ok) == (accepted, accepted)


def test_shipped_and_scaffolded_params_validate(tmp_path):
    from segur_helpers.scaffold import scaffold

    files = [p for p in sorted((ROOT / "params").glob("*.yaml"))
             if "campaign" in (yaml.safe_load(p.read_text(encoding="utf-8")) or {})]
    written = scaffold(tmp_path / "init", "Éditeur")
    for path in files + [written[0]]:
        text = path.read_text(encoding="utf-8")
        assert "# yaml-language-server: $schema=" in text.splitlines()[0], path
        errors = [e.message for e in VALIDATOR.iter_errors(yaml.safe_load(text))]
        assert not errors, (path, errors)
        load_campaign(path)
