# flowopt — the two quick-start commands:
#   make demo   set up, then analyse the bundled example log -> out/report.html, out/analysis.json
#   make test   set up, then run the whole test suite
.PHONY: setup demo test bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	@mkdir -p out
	.venv/bin/flowopt analyze example --html out/report.html --json out/analysis.json --md out/summary.md
	@echo "Open out/report.html in a browser."

test: setup
	.venv/bin/python -m pytest -n 2 -q

bench: setup
	.venv/bin/python benchmarks/run.py

clean:
	rm -rf out .pytest_cache .hypothesis
