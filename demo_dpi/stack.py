"""Start the demo target (mail server, SMS gateway + DPI and its admission feed listener, optionally the DMP
simulator) as child processes, wait until they answer, stop them.

Used by the tests and by ``make demo``::

    python -m demo_dpi.stack --dir outputs/demo-target -- segur run params/demo.yaml

starts both servers on 127.0.0.1, runs the command, stops the servers and exits with the command's code.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


# Ports handed out are reserved here, one empty file per port, for RESERVED_S seconds (per user).
PORTS_DIR = Path(tempfile.gettempdir()) / f"segur-ports-{os.getuid()}"
RESERVED_S = 600.0
_handed: set[int] = set()


def _expired(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime > RESERVED_S
    except OSError:
        return False


def _prune(folder: Path) -> None:
    """Remove old claims (their servers have long bound their ports, or are gone)."""
    for path in folder.iterdir():
        if _expired(path):
            path.unlink(missing_ok=True)


def _reserve(port: int, folder: Path) -> bool:
    """Claim ``port`` for this caller, unless another process claimed it less than RESERVED_S ago.

    Where the folder cannot be written, only this process's memory of the ports it handed out is left."""
    try:
        if not folder.is_dir():
            folder.mkdir(mode=0o700, exist_ok=True)
        elif not _handed:
            _prune(folder)
    except OSError:
        return True
    claim = folder / str(port)
    try:
        os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return True
    except FileExistsError:
        if _expired(claim):
            claim.unlink(missing_ok=True)   # an old claim: the port is free again on a later draw
        return False
    except OSError:
        return True


def free_port() -> int:
    """A port on 127.0.0.1 that nobody listens on and that no other caller has been handed lately.

    ``bind(("127.0.0.1", 0))`` alone is not enough. The port is free again as soon as the probe socket
    closes, and the server that will listen on it starts a second or more later. In that window the
    kernel may give the same port to the next caller: a stack's nine draws held a duplicate in 0.28 % of
    20,000 tries, and `make test` starts some 75 stacks on four workers (about one run in ten would then
    see a stack fail to start, its DPI's health check answered by its SMS gateway). So each port handed out is
    remembered by this process and reserved, for RESERVED_S seconds, by a file in PORTS_DIR that other
    processes see; a port already reserved is skipped. Once a server listens, the kernel itself never
    hands its port out again.
    """
    for _ in range(1000):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed and _reserve(port, PORTS_DIR):
            _handed.add(port)
            return port
    raise RuntimeError(f"no free port on 127.0.0.1 after 1000 draws (reservations in {PORTS_DIR})")


def _wait_port(port: int, proc: subprocess.Popen, deadline: float, what: str) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} in time")


class DemoStack:
    """The demo target: ``mailsink`` (SMTP → Maildir), ``smsgateway`` (HTTP → one file per SMS),
    ``demo_dpi`` (web, SQLite) and ``demo_dpi.pam`` (its admission feed: HL7 v2.5 ADT over MLLP, same
    database)."""

    def __init__(self, workdir: Path, *, port: int | None = None, smtp_port: int | None = None,
                 defects: list[str] | tuple[str, ...] = (), password_env: str = "DEMO_DPI_ADMIN_PASSWORD",
                 code_ttl: int = 900, log_dir: Path | None = None, with_dmp: bool = False,
                 dmp_port: int | None = None, dmp_control_port: int | None = None,
                 dmp_send_delay: float | None = None, with_ldap: bool = False,
                 ldap_port: int | None = None, ldap_sync_s: int = 60,
                 ldap_password_env: str = "DEMO_LDAP_ADMIN_PASSWORD", with_oidc: bool = False,
                 oidc_port: int | None = None, population: bool = True, sms_port: int | None = None,
                 with_psc: bool = False, psc_port: int | None = None, ui: str = "classic",
                 pam_port: int | None = None):
        self.workdir = Path(workdir).resolve()
        self.port = port or free_port()
        self.smtp_port = smtp_port or free_port()
        self.sms_port = sms_port or free_port()   # the SMS gateway stand-in (demo_dpi.smsgateway)
        self.pam_port = pam_port or free_port()   # the DPI's admission feed listener (demo_dpi.pam, MLLP)
        self.defects = list(defects)
        self.password_env = password_env
        self.code_ttl = code_ttl
        self.log_dir = Path(log_dir) if log_dir else self.workdir
        self.procs: list[subprocess.Popen] = []
        # optional DMP simulator (demo_dpi.dmp_sim), its own process; the DPI is pointed at it
        self.with_dmp = with_dmp or bool(dmp_port)
        self.dmp_send_delay = dmp_send_delay
        self.dmp_port = (dmp_port or free_port()) if self.with_dmp else None
        self.dmp_control_port = (dmp_control_port or free_port()) if self.with_dmp else None
        self.population = population
        self.ui = ui                      # classic or spa (python -m demo_dpi --ui spa)
        # optional: the hospital's LDAPS directory (slapd) the DPI synchronises from (SSI/IAM.83, 85)
        self.with_ldap = with_ldap
        self.ldap_port = (ldap_port or free_port()) if with_ldap else None
        self.ldap_sync_s = ldap_sync_s
        self.ldap_password_env = ldap_password_env
        self.ldap = None
        # optional: the hospital's OpenID Connect provider the DPI signs professionals in with (SSI/IAM.80);
        # test user and test-switch passwords from $DEMO_OIDC_USER_PASSWORD / $DEMO_OIDC_ADMIN_PASSWORD
        self.with_oidc = with_oidc
        self.oidc_port = (oidc_port or free_port()) if with_oidc else None
        # optional: the Pro Santé Connect stand-in (PSC.01, 02, 08, DMP/PSC.01); test identities' code and
        # test-switch password from $DEMO_PSC_USER_PASSWORD / $DEMO_PSC_ADMIN_PASSWORD
        self.with_psc = with_psc
        self.psc_port = (psc_port or free_port()) if with_psc else None

    # make demo's fixed addresses and folder, as params/demo.yaml names them
    DEMO_DEFAULTS = {"url": "http://127.0.0.1:8765", "dmp_url": "http://127.0.0.1:8766",
                     "dmp_control_url": "http://127.0.0.1:8767", "oidc_url": "http://127.0.0.1:8768",
                     "psc_origin": "http://127.0.0.1:8770", "ldap_url": "ldaps://127.0.0.1:6636",
                     "pam_url": "mllp://127.0.0.1:2575"}
    DEMO_FOLDER = "../outputs/demo-target"

    def retarget(self, params_text: str) -> str:
        """The demo campaign's text pointed at this stack (its ports and folder) instead of ``make demo``'s
        fixed ones, so the whole demo campaign runs against a stack on free ports (tests, benchmark)."""
        for attr, default in self.DEMO_DEFAULTS.items():
            actual = getattr(self, attr)
            if actual:
                params_text = params_text.replace(default, actual)
        return params_text.replace(self.DEMO_FOLDER, str(self.workdir))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dmp_url(self) -> str | None:
        return f"http://127.0.0.1:{self.dmp_port}" if self.with_dmp else None

    @property
    def dmp_control_url(self) -> str | None:
        """Where the DMP simulator's service is stopped and restarted (``POST /service/stop|start``)."""
        return f"http://127.0.0.1:{self.dmp_control_port}" if self.with_dmp else None

    @property
    def pam_url(self) -> str:
        """Where the DPI listens for the hospital's ADT messages (IHE PAM over MLLP)."""
        return f"mllp://127.0.0.1:{self.pam_port}"

    @property
    def maildir(self) -> Path:
        return self.workdir / "maildir"

    @property
    def sms_url(self) -> str:
        return f"http://127.0.0.1:{self.sms_port}"

    @property
    def sms_dir(self) -> Path:
        """Where the SMS gateway keeps each message it accepted (one JSON file per SMS)."""
        return self.workdir / "sms"

    @property
    def db_path(self) -> Path:
        return self.workdir / "demo_dpi.sqlite"

    @property
    def ldap_url(self) -> str | None:
        return f"ldaps://127.0.0.1:{self.ldap_port}" if self.with_ldap else None

    @property
    def oidc_url(self) -> str | None:
        return f"http://127.0.0.1:{self.oidc_port}" if self.with_oidc else None

    @property
    def psc_origin(self) -> str | None:
        return f"http://127.0.0.1:{self.psc_port}" if self.with_psc else None

    @property
    def psc_issuer(self) -> str | None:
        """Pro Santé Connect's issuer as the stand-in serves it (PSC's realm path on this origin)."""
        return f"{self.psc_origin}/auth/realms/esante-wallet" if self.with_psc else None

    @property
    def ldap_ca(self) -> Path:
        return self.workdir / "ldap" / "tls" / "ca.pem"

    def _spawn(self, args: list[str], log_name: str, extra_env: dict | None = None) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / log_name, "ab")
        env = os.environ.copy()
        env.update(extra_env or {})
        root = str(Path(__file__).resolve().parents[1])  # this checkout's demo_dpi, not another copy
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        proc = subprocess.Popen([sys.executable, *args], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)
        log.close()
        self.procs.append(proc)
        return proc

    def start(self, timeout: float = 60.0) -> "DemoStack":
        # one deadline for every process of the stack (directory, providers, DMP, web, admission feed); on a
        # loaded machine (tests in parallel: load average 10 on 2 cores) 20 s was not always enough.
        self.workdir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        import secrets

        psc_secrets = {"dpi": secrets.token_urlsafe(24), "dmp": secrets.token_urlsafe(24)}
        try:
            if self.with_psc:
                for var in ("DEMO_PSC_USER_PASSWORD", "DEMO_PSC_ADMIN_PASSWORD"):
                    if not os.environ.get(var):
                        raise RuntimeError(f"environment variable {var} is unset; expected a secret of the "
                                           "Pro Santé Connect stand-in")
            smtp = self._spawn(["-m", "demo_dpi.mailsink", "--port", str(self.smtp_port),
                                "--maildir", str(self.maildir)], "mailsink.log")
            _wait_port(self.smtp_port, smtp, deadline, "mailsink")
            sms = self._spawn(["-m", "demo_dpi.smsgateway", "--port", str(self.sms_port),
                               "--dir", str(self.sms_dir)], "smsgateway.log")
            _wait_port(self.sms_port, sms, deadline, "smsgateway")
            if self.with_dmp:
                dmp_args = ["-m", "demo_dpi.dmp_sim", "--port", str(self.dmp_port),
                            "--db", str(self.workdir / "dmp_sim.sqlite"), "--control-port", str(self.dmp_control_port)]
                dmp_env = {}
                if self.with_psc:  # the DMP verifies the PSC tokens it is shown (token exchange)
                    dmp_args += ["--psc-issuer", self.psc_issuer]
                    dmp_env = {"DMP_SIM_PSC_CLIENT_ID": "demo-dmp", "DMP_SIM_PSC_CLIENT_SECRET": psc_secrets["dmp"]}
                dmp = self._spawn(dmp_args, "dmp_sim.log", dmp_env)
                _wait_port(self.dmp_port, dmp, deadline, "dmp_sim")
                _wait_port(self.dmp_control_port, dmp, deadline, "dmp_sim control")
                urllib.request.urlopen(self.dmp_url + "/health", timeout=5).read()
            # the demo hospital's staff (accounts, roles, last logins) for the account review (SSI/IAM.87, 94)
            extra_env = {"DEMO_DPI_POPULATION": "1" if self.population else "0"}
            if self.with_ldap:
                from .ldap_server import SUFFIX, SYNC_DN, DirectoryServer

                password = os.environ.get(self.ldap_password_env)
                if not password:
                    raise RuntimeError(f"environment variable {self.ldap_password_env} is unset; expected the "
                                       "directory administrator's password")
                self.ldap = DirectoryServer(self.workdir / "ldap", port=self.ldap_port, admin_password=password,
                                            log_path=self.log_dir / "slapd.log").start(timeout=timeout)
                extra_env.update({"DEMO_DPI_LDAP_URL": self.ldap_url, "DEMO_DPI_LDAP_CA": str(self.ldap_ca),
                                  "DEMO_DPI_LDAP_BASE": SUFFIX, "DEMO_DPI_LDAP_BIND_DN": SYNC_DN,
                                  "DEMO_DPI_LDAP_PASSWORD": self.ldap.sync_password,
                                  "DEMO_DPI_LDAP_SYNC_S": str(self.ldap_sync_s)})
            if self.with_oidc:
                for var in ("DEMO_OIDC_USER_PASSWORD", "DEMO_OIDC_ADMIN_PASSWORD"):
                    if not os.environ.get(var):
                        raise RuntimeError(f"environment variable {var} is unset; expected a secret of the "
                                           "demo identity provider")
                client_secret = secrets.token_urlsafe(24)
                idp = self._spawn(["-m", "demo_dpi.oidc_provider", "--port", str(self.oidc_port),
                                   "--redirect-uri", f"{self.url}/oidc/callback"], "oidc_provider.log",
                                  {"DEMO_OIDC_CLIENT_ID": "demo-dpi", "DEMO_OIDC_CLIENT_SECRET": client_secret})
                _wait_port(self.oidc_port, idp, deadline, "oidc_provider")
                extra_env.update({"DEMO_DPI_OIDC_ISSUER": self.oidc_url, "DEMO_DPI_OIDC_CLIENT_ID": "demo-dpi",
                                  "DEMO_DPI_OIDC_CLIENT_SECRET": client_secret})
            if self.with_psc:
                psc = self._spawn(["-m", "demo_dpi.psc_provider", "--port", str(self.psc_port),
                                   "--redirect-uri", f"{self.url}/psc/callback",
                                   "--post-logout-redirect-uri", f"{self.url}/psc/deconnecte"], "psc_provider.log",
                                  {"DEMO_PSC_CLIENT_ID": "demo-dpi-psc", "DEMO_PSC_CLIENT_SECRET": psc_secrets["dpi"],
                                   "DEMO_PSC_RS_CLIENT_ID": "demo-dmp", "DEMO_PSC_RS_CLIENT_SECRET": psc_secrets["dmp"]})
                _wait_port(self.psc_port, psc, deadline, "psc_provider")
                extra_env.update({"DEMO_DPI_PSC_ISSUER": self.psc_issuer, "DEMO_DPI_PSC_CLIENT_ID": "demo-dpi-psc",
                                  "DEMO_DPI_PSC_CLIENT_SECRET": psc_secrets["dpi"]})
            args = ["-m", "demo_dpi", "--port", str(self.port), "--db", str(self.db_path),
                    "--smtp-port", str(self.smtp_port), "--admin-password-env", self.password_env,
                    "--code-ttl", str(self.code_ttl), "--sms-url", self.sms_url]
            if self.with_dmp:
                args += ["--dmp-url", self.dmp_url]
            if self.dmp_send_delay is not None:
                args += ["--dmp-send-delay", str(self.dmp_send_delay)]
            if self.ui != "classic":
                args += ["--ui", self.ui]
            for d in self.defects:
                args += ["--defect", d]
            web = self._spawn(args, "demo_dpi.log", extra_env)
            _wait_port(self.port, web, deadline, "demo_dpi")
            urllib.request.urlopen(self.url + "/healthz", timeout=5).read()
            # the admission feed, once the web application has made the database
            pam_args = ["-m", "demo_dpi.pam", "--port", str(self.pam_port), "--db", str(self.db_path)]
            for d in self.defects:
                pam_args += ["--defect", d]
            pam = self._spawn(pam_args, "pam.log")
            _wait_port(self.pam_port, pam, deadline, "demo_dpi.pam")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        if self.ldap is not None:
            self.ldap.stop()
            self.ldap = None

    def __enter__(self) -> "DemoStack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo_dpi.stack", description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path("outputs/demo-target"),
                    help="folder for the database, the Maildir and the logs")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--smtp-port", type=int, default=2525)
    ap.add_argument("--sms-port", type=int, default=8769, help="the SMS gateway stand-in's port")
    ap.add_argument("--defect", action="append", default=[])
    ap.add_argument("--with-dmp", action="store_true", help="also start the DMP simulator (demo_dpi.dmp_sim)")
    ap.add_argument("--dmp-port", type=int, default=None, help="the DMP simulator's port (implies --with-dmp)")
    ap.add_argument("--dmp-control-port", type=int, default=None,
                    help="the port that stops/starts the DMP simulator's service (default: a free port)")
    ap.add_argument("--with-ldap", action="store_true", help="also start the LDAPS directory (slapd)")
    ap.add_argument("--ldap-port", type=int, default=6636)
    ap.add_argument("--ldap-sync-s", type=int, default=60, help="period of the DPI's directory synchronisation")
    ap.add_argument("--with-oidc", action="store_true", help="also start the OpenID Connect provider")
    ap.add_argument("--oidc-port", type=int, default=8768)
    ap.add_argument("--with-psc", action="store_true", help="also start the Pro Santé Connect stand-in")
    ap.add_argument("--psc-port", type=int, default=8770)
    ap.add_argument("--ui", choices=("classic", "spa"), default="classic",
                    help="the demo DPI's UI: classic pages or the single-page application (demo_dpi.spa)")
    ap.add_argument("--pam-port", type=int, default=2575, help="the DPI's admission feed (HL7 v2.5 ADT over MLLP)")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND to run while the target is up")
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        stack = DemoStack(args.dir, port=args.port, smtp_port=args.smtp_port, sms_port=args.sms_port,
                          defects=args.defect,
                          with_dmp=args.with_dmp, dmp_port=args.dmp_port,
                          dmp_control_port=args.dmp_control_port,
                          with_ldap=args.with_ldap, ldap_port=args.ldap_port, ldap_sync_s=args.ldap_sync_s,
                          with_oidc=args.with_oidc, oidc_port=args.oidc_port,
                          with_psc=args.with_psc, psc_port=args.psc_port, ui=args.ui,
                          pam_port=args.pam_port).start()
    except RuntimeError as exc:
        print(f"error: demo target did not start: {exc} (logs in {args.dir})", file=sys.stderr)
        return 2
    print(f"demo target up: {stack.url} (SMTP 127.0.0.1:{stack.smtp_port}, Maildir {stack.maildir}, "
          f"SMS gateway {stack.sms_url}, SMS in {stack.sms_dir}, admission feed {stack.pam_url}"
          + (f", DMP simulator {stack.dmp_url}, its control {stack.dmp_control_url}" if stack.with_dmp else "")
          + ")", flush=True)
    if stack.with_ldap:
        print(f"directory up: {stack.ldap_url} (CA {stack.ldap_ca})", flush=True)
    if stack.with_oidc:
        print(f"identity provider up: {stack.oidc_url}", flush=True)
    if stack.with_psc:
        print(f"Pro Santé Connect stand-in up: {stack.psc_issuer}", flush=True)
    try:
        if not command:
            print("press Ctrl-C to stop", flush=True)
            while True:
                time.sleep(3600)
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 130
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
