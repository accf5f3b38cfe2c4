# Two commands do all set-up on a fresh machine; both are safe to run again.
#   make demo   venv + install, then the main job on examples/ (validate, render, provision)
#   make test   everything the suite needs (Groovy, Docker engine, registries), then all checks
.PHONY: demo test

demo:
	@bash scripts/bootstrap.sh
	@bash scripts/demo.sh

test:
	@bash scripts/bootstrap.sh
	@bash scripts/services.sh up
	@bash scripts/test.sh
