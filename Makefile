# segur-proofs — the two commands of the README:
#   make demo   runs the demo campaign against the embedded demo DPI and prints the PDF's path
#   make test   runs the tests (the same command .ci/run runs); make test-fast the unit and contract tests
# Both set up what they need first (virtual environment, pinned packages, Debian chromium).

VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= outputs/demo-target
DEMO_PORT ?= 8765
SMTP_PORT ?= 2525
DMP_PORT ?= 8766
DMP_CONTROL_PORT ?= 8767
LDAP_PORT ?= 6636
OIDC_PORT ?= 8768
SMS_PORT ?= 8769
PSC_PORT ?= 8770
PAM_PORT ?= 2575

.PHONY: setup demo demo-dossier demo-justification test test-fast lab clean-demo

setup:
	@./scripts/bootstrap.sh

# The demo target's passwords are fresh random values unless you export them: they live only in the
# environment of the demo target and of the kernel (params say env:DEMO_DPI_ADMIN_PASSWORD …): the demo
# DPI's administrator, the directory (slapd, LDAPS), the identity provider (OpenID Connect) and the Pro
# Santé Connect stand-in.
NEW_SECRET = $$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(18))')
DEMO_SECRETS = DEMO_DPI_ADMIN_PASSWORD="$${DEMO_DPI_ADMIN_PASSWORD:-$(NEW_SECRET)}" \
	DEMO_LDAP_ADMIN_PASSWORD="$${DEMO_LDAP_ADMIN_PASSWORD:-$(NEW_SECRET)}" \
	DEMO_OIDC_USER_PASSWORD="$${DEMO_OIDC_USER_PASSWORD:-$(NEW_SECRET)}" \
	DEMO_OIDC_ADMIN_PASSWORD="$${DEMO_OIDC_ADMIN_PASSWORD:-$(NEW_SECRET)}" \
	DEMO_PSC_USER_PASSWORD="$${DEMO_PSC_USER_PASSWORD:-$(NEW_SECRET)}" \
	DEMO_PSC_ADMIN_PASSWORD="$${DEMO_PSC_ADMIN_PASSWORD:-$(NEW_SECRET)}"
# The whole demo target on make demo's fixed ports (params/demo*.yaml name them), then the command after --.
DEMO_STACK = $(BIN)/python -m demo_dpi.stack --dir $(DEMO_DIR) --port $(DEMO_PORT) --smtp-port $(SMTP_PORT) \
	--sms-port $(SMS_PORT) --dmp-port $(DMP_PORT) --dmp-control-port $(DMP_CONTROL_PORT) --with-ldap --ldap-port $(LDAP_PORT) \
	--with-oidc --oidc-port $(OIDC_PORT) --with-psc --psc-port $(PSC_PORT) --pam-port $(PAM_PORT) --

demo: setup
	@$(DEMO_SECRETS) $(DEMO_STACK) \
	  $(BIN)/segur run params/demo.yaml

# Tests run in parallel (pytest-xdist, 4 workers on 2 cores: end-to-end tests also wait on servers, mail and
# kernels; the serial run took 35 min, this one 14 min 34 s on a clean clone, README « Tests »). --dist loadfile keeps a module's tests on one
# worker, so a module's shared fixture (the demo campaign's one run, the demo dossier) is made once;
# --no-loadscope-reorder hands modules out in collection order, longest first (tests/conftest.py), instead
# of xdist's default, most tests first, which started the 5-campaign isolation test last.
TEST_WORKERS ?= 4
test:
	@BOOTSTRAP_TEST=1 ./scripts/bootstrap.sh
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The inner loop: unit and contract tests only (no demo target, notebook kernel or Chromium), ≤ 90 s.
test-fast:
	@BOOTSTRAP_TEST=1 ./scripts/bootstrap.sh
	$(BIN)/python -m pytest -m "not e2e and not slow" -n 2

# JupyterLab on the notebooks, with the demo target running (Ctrl-C stops both).
lab: setup
	@$(DEMO_SECRETS) $(DEMO_STACK) \
	  $(BIN)/python -m segur_helpers.cli lab params/demo.yaml

clean-demo:
	rm -rf $(DEMO_DIR)

# SSI/IE.31's condition declared unmet: the justification document (PDF and DOCX), verdict NON APPLICABLE.
demo-justification: setup
	@$(BIN)/segur justify --check params/demo-justification.yaml && $(BIN)/segur run params/demo-justification.yaml

# The whole dossier (README « Le dossier complet »): every requirement of REM HOP-DPI automated, guided,
# justified, out of the product's profile or missing. Needs your copy of ANS's REM workbook, imported once
# (REM=path/to/export.xlsx; the repository never holds it).
REM ?= ../shared/rem/export_full.xlsx
demo-dossier: setup
	@test -f params/demo-dossier.rem.json || { test -f "$(REM)" && $(BIN)/segur catalog import "$(REM)" --campaign params/demo-dossier.yaml; } || \
	  { echo "error: params/demo-dossier.rem.json missing; expected make demo-dossier REM=path/to/REM.xlsx (a Squash export holding REM HOP-DPI)" >&2; exit 2; }
	@$(DEMO_SECRETS) $(DEMO_STACK) \
	  $(BIN)/segur run params/demo-dossier.yaml --scope rem
