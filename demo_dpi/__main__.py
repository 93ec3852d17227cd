"""``python -m demo_dpi``: start the demo DPI web application.

The administrator password is read from an environment variable (``--admin-password-env``, default
DEMO_DPI_ADMIN_PASSWORD), never from the command line, where any process listing would show it.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from . import DEFECT_ALIASES, KNOWN_DEFECTS, defect_name
from .app import Settings, create_app


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo_dpi", description="Demo DPI (reference target).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--db", default="demo_dpi.sqlite", help="SQLite database file (created if absent)")
    ap.add_argument("--smtp-host", default="127.0.0.1")
    ap.add_argument("--smtp-port", type=int, default=2525)
    ap.add_argument("--public-url", help="base URL used in mailed links (default http://HOST:PORT)")
    ap.add_argument("--admin-user", default="admin")
    ap.add_argument("--admin-password-env", default="DEMO_DPI_ADMIN_PASSWORD")
    ap.add_argument("--mss-nil", default=Settings.mss_nil,
                    help="Ségur registration number sent as X-MSS-NIL on MSSanté messages")
    ap.add_argument("--dmp-send-delay", type=float, default=Settings.dmp_send_delay_s,
                    help="seconds between a document's validation and its background send to the DMP")
    ap.add_argument("--code-ttl", type=int, default=900, help="lifetime of verification links, seconds")
    ap.add_argument("--dmp-url", default="", help="base URL of the DMP (simulator: python -m demo_dpi.dmp_sim)")
    ap.add_argument("--sms-url", default="", help="base URL of the SMS gateway (stand-in: python -m demo_dpi.smsgateway)")
    ap.add_argument("--defect", action="append", default=[], metavar="REQ",
                    help="switch a requirement's behaviour off: " + "; ".join(
                        f"{k}: {v}" for k, v in KNOWN_DEFECTS.items()))
    args = ap.parse_args(argv)
    for old in (d for d in args.defect if d in DEFECT_ALIASES):
        print(f"notice: --defect {old} is now --defect {defect_name(old)}", file=sys.stderr)
    args.defect = [defect_name(d) for d in args.defect]
    unknown = [d for d in args.defect if d not in KNOWN_DEFECTS]
    if unknown:
        print(f"error: --defect {unknown[0]}: expected one of {', '.join(KNOWN_DEFECTS)}", file=sys.stderr)
        return 2
    password = os.environ.get(args.admin_password_env)
    if not password:
        print(f"error: environment variable {args.admin_password_env} is unset; expected the administrator "
              "password", file=sys.stderr)
        return 2
    settings = Settings(db_path=args.db, admin_user=args.admin_user, admin_password=password,
                        public_url=args.public_url or f"http://{args.host}:{args.port}",
                        smtp_host=args.smtp_host, smtp_port=args.smtp_port, code_ttl_s=args.code_ttl,
                        defects=set(args.defect), dmp_url=args.dmp_url, mss_nil=args.mss_nil,
                        dmp_send_delay_s=args.dmp_send_delay, sms_url=args.sms_url)
    app = create_app(settings)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"demo_dpi on http://{args.host}:{args.port} (defects: {', '.join(args.defect) or 'none'})", flush=True)
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False, debug=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
