"""A real IMAP server for the tests: Debian's dovecot, IMAPS on 127.0.0.1, serving a given Maildir."""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

from demo_dpi.stack import free_port

CONF = """
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
auth_mechanisms = plain
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{maildir}:INDEX={d}/index:CONTROL={d}/control
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0600
  }}
  unix_listener stats-writer {{
    mode = 0600
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home/%u
}}
"""


class Dovecot:
    def __init__(self, workdir: Path, maildir: Path, user: str, password: str):
        self.dir, self.maildir, self.user, self.password = Path(workdir), Path(maildir), user, password
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def ca_file(self) -> Path:
        return self.dir / "cert.pem"

    def start(self) -> "Dovecot":
        exe = shutil.which("dovecot") or "/usr/sbin/dovecot"
        self.dir.mkdir(parents=True, exist_ok=True)
        for sub in ("run", "state", "home", "index", "control"):
            (self.dir / sub).mkdir(exist_ok=True)
        # dovecot never serves mail as root: it reads the Maildir as the system user "mail"
        mail = pwd.getpwnam("mail")
        for sub in ("home", "index", "control"):
            os.chown(self.dir / sub, mail.pw_uid, mail.pw_gid)
        for folder in (self.maildir, *(self.maildir / s for s in ("new", "cur", "tmp"))):
            folder.mkdir(parents=True, exist_ok=True)
            os.chown(folder, mail.pw_uid, mail.pw_gid)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(self.dir / "key.pem"), "-out", str(self.ca_file)],
                       check=True, capture_output=True)
        (self.dir / "users").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        conf = self.dir / "dovecot.conf"
        conf.write_text(CONF.format(d=self.dir, maildir=self.maildir, port=self.port, uid=mail.pw_uid,
                                    gid=mail.pw_gid))
        self.proc = subprocess.Popen([exe, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dovecot exited: " + (self.dir / "dovecot.log").read_text(errors="replace")[-800:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("dovecot did not listen in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
