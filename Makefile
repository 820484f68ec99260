# coserver: the two commands are `make run` and `make test`; both bootstrap what is missing first.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bootstrap bootstrap-test worker lint format clean-db

run: bootstrap
	$(BIN)/coserver serve --demo --with-worker

test: bootstrap-test
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bootstrap:
	@bash deploy/bootstrap.sh

bootstrap-test:
	@bash deploy/bootstrap.sh --test

worker: bootstrap
	$(BIN)/coserver worker

lint: bootstrap
	$(BIN)/ruff check coserver federation webfinger migrations tests benchmarks
	$(BIN)/ruff format --check coserver federation webfinger migrations tests benchmarks

format: bootstrap
	$(BIN)/ruff format coserver federation webfinger migrations tests benchmarks
	$(BIN)/ruff check --fix coserver federation webfinger migrations tests benchmarks

# Stops the embedded cluster and deletes var/ (all local data!).
clean-db:
	-$(BIN)/coserver db stop
	rm -rf var
