"""Bad input: one clear line naming the file, the key and what was expected; exit 2; no run folder."""
from __future__ import annotations

import os

import pytest

from conftest import PASSWORD_ENV, campaign_dict, run_segur


def _check_refused(proc, tmp_path, *needles):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    for n in needles:
        assert n in lines[0], lines[0]
    out = tmp_path / "outputs"
    assert not out.exists() or not any(out.rglob("*")), "a run folder was written for bad input"
    return lines[0]


def _run(tmp_path, params, env=None):
    return run_segur("run", str(params), "--outputs", str(tmp_path / "outputs"), env=env)


def test_malformed_yaml(tmp_path, write_params):
    params = write_params("campaign: demo\nproduct: {name: x\n  version: [1\n", name="broken.yaml")
    line = _check_refused(_run(tmp_path, params), tmp_path, "broken.yaml", "malformed YAML", "line")
    assert "expected a YAML mapping" in line


def test_unknown_requirement(tmp_path, write_params):
    data = campaign_dict("http://127.0.0.1:9", tmp_path / "m")
    data["requirements"] = {"SSI/IE.99": {"condition_met": True}}
    _check_refused(_run(tmp_path, write_params(data)), tmp_path, "campaign.yaml", "requirements.SSI/IE.99",
                   "unknown requirement id", "SSI/IE.31")


@pytest.mark.parametrize("key,where", [("vendor", "vendor"), ("target", "target"), ("driver", "driver")])
def test_missing_key(tmp_path, write_params, key, where):
    data = campaign_dict("http://127.0.0.1:9", tmp_path / "m")
    del data[key]
    _check_refused(_run(tmp_path, write_params(data)), tmp_path, "campaign.yaml", f": {where}: missing", "expected")


def test_missing_nested_key(tmp_path, write_params):
    data = campaign_dict("http://127.0.0.1:9", tmp_path / "m")
    del data["target"]["url"]
    _check_refused(_run(tmp_path, write_params(data)), tmp_path, "target.url: missing", "http(s) URL")


def test_wrong_type(tmp_path, write_params):
    data = campaign_dict("http://127.0.0.1:9", tmp_path / "m")
    data["requirements"]["SSI/IE.31"]["data"] = ["not", "a", "mapping"]
    _check_refused(_run(tmp_path, write_params(data)), tmp_path, "requirements.SSI/IE.31.data",
                   "expected a mapping, got a list")


def test_secret_variable_unset(tmp_path, write_params):
    env = {k: v for k, v in os.environ.items() if k != PASSWORD_ENV}
    params = write_params(campaign_dict("http://127.0.0.1:9", tmp_path / "m"))
    _check_refused(_run(tmp_path, params, env=env), tmp_path, "campaign.yaml", "target.admin.password",
                   PASSWORD_ENV, "unset")


def test_literal_secret_refused(tmp_path, write_params):
    data = campaign_dict("http://127.0.0.1:9", tmp_path / "m")
    data["target"]["admin"]["password"] = "hunter2"
    line = _check_refused(_run(tmp_path, write_params(data)), tmp_path, "target.admin.password", "env:")
    assert "hunter2" not in line


def test_bad_url_and_driver(tmp_path, write_params):
    data = campaign_dict("ftp://example", tmp_path / "m")
    _check_refused(_run(tmp_path, write_params(data)), tmp_path, "target.url", "http(s) URL")
    data = campaign_dict("http://127.0.0.1:9", tmp_path / "m", driver="nosuchpkg.drv:Driver")
    _check_refused(_run(tmp_path, write_params(data)), tmp_path, "driver", "nosuchpkg.drv")


def test_missing_file(tmp_path):
    _check_refused(_run(tmp_path, tmp_path / "nope.yaml"), tmp_path, "nope.yaml", "no such file")


def test_only_unknown(tmp_path, write_params):
    params = write_params(campaign_dict("http://127.0.0.1:9", tmp_path / "m"))
    proc = run_segur("run", str(params), "--outputs", str(tmp_path / "outputs"), "--only", "SSI/IAM.94")
    _check_refused(proc, tmp_path, "--only", "SSI/IAM.94")


def test_secret_too_short(tmp_path, write_params):
    env = dict(os.environ, **{PASSWORD_ENV: "abc"})
    params = write_params(campaign_dict("http://127.0.0.1:9", tmp_path / "m"))
    line = _check_refused(_run(tmp_path, params, env=env), tmp_path, "target.admin.password", PASSWORD_ENV,
                          "at least 8")
    assert "abc" not in line
