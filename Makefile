# The two commands of the README. Both set everything up on a fresh machine and are idempotent.
.PHONY: demo test setup

demo: setup
	.venv/bin/pmpath demo

test:
	bash scripts/test.sh

setup:
	bash scripts/bootstrap.sh
