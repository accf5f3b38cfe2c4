# Two commands do all set-up on a fresh machine; both are safe to run again.
#   make demo   venv + install, then the main job on examples/ (validate, render, provision,
#               build, deploy); installation details go to out/demo.log
#   make test   everything the suite needs (Groovy, Docker engine, registries), then all checks
#   make check  the fast tier: venv only (no sudo), static checks and every test that needs no
#               Docker engine, registry, Groovy, CodeNarc or Prometheus tools (about a minute
#               on 2 cores)
#   make docs   the documentation site (docs/), built offline in strict mode into out/site
#   make docs-reference   regenerate the generated pages (descriptor and CLI reference)
.PHONY: demo test check docs docs-reference

FAST_TESTS = not docker and not registry and not groovy and not sandbox and not codenarc and not prometheus

demo:
	@bash scripts/demo.sh

test:
	@bash scripts/bootstrap.sh
	@bash scripts/services.sh up
	@bash scripts/test.sh

check:
	@bash scripts/bootstrap.sh --venv-only
	@bash scripts/test.sh -m "$(FAST_TESTS)"

docs:
	@bash scripts/bootstrap.sh --venv-only
	@bash scripts/docs.sh

docs-reference:
	@bash scripts/bootstrap.sh --venv-only
	@.venv/bin/python -m tests.docs.reference_pages
