# Benchmarks: `make bench` runs every benchmark (JSON in benchmarks/results/), then builds
# docs/BENCHMARKS.md and docs/bench_*.png from the JSON. About 15-20 min on a 2-core machine.
#   make bench-quick      smoke run of everything (results and page under benchmarks/results/quick/)
#   make bench-consumer   one benchmark (overhead, batched, persistent, consumer, diarization, memory, soak)
#   make report           rebuild the page and plots from the existing JSON, measuring nothing
#   make bench-gpu MODEL=/path/to/large-v3   on a CUDA machine (see benchmarks/gpu.sh)
#   make bench SRC=HEAD   benchmark the last commit's src/ (or any sha) instead of the working tree's
PYTHON ?= python3
SRC ?= src
ifneq ($(wildcard $(SRC)/.),)
else
# resolved once (override: a command-line SRC=HEAD would be re-read by every script)
override SRC := $(shell git rev-parse --short $(SRC))
endif
QUICK ?=
MODEL ?= large-v3
BENCHMARKS = overhead batched batching_crossjob persistent consumer diarization memory soak
export STREAMSCRIBE_BENCH_SRC = $(SRC)

.PHONY: bench bench-quick report bench-gpu

bench:
	@start=$$(date +%s); \
	for b in $(BENCHMARKS); do echo "== benchmarks/$$b.py $(QUICK)"; $(PYTHON) benchmarks/$$b.py $(QUICK) || exit 1; done; \
	$(PYTHON) benchmarks/report.py $(if $(QUICK),--results benchmarks/results/quick --out benchmarks/results/quick/docs) || exit 1; \
	echo "make bench: $$(( $$(date +%s) - start )) s in all"

bench-quick:
	@$(MAKE) --no-print-directory bench QUICK=--quick

report:
	$(PYTHON) benchmarks/report.py

bench-gpu:
	benchmarks/gpu.sh $(MODEL)

bench-%:
	$(PYTHON) benchmarks/$*.py $(QUICK)
