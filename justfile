# Short names for the README's commands and frequent chores. Each recipe is one plain command:
# nothing here needs `just` to work.

# The main job: the three deployment modes side by side.
run:
    cargo run --release -- scenario compare_modes

# The tests (the README's test command).
test:
    cargo test

# What CI runs: formatting, lints, tests.
ci:
    bash .ci/run

# A/B of two git revisions, interleaved ABBA (base, head, head, base, …), then compare (what
# the CI regression job runs), e.g. `just ab origin/main HEAD` or
# `just ab v0.1.0 HEAD compare_modes 8`. Fewer than 5 repetitions a side calls nothing.
ab base head scenario="ci_smoke" repetitions="5":
    .ci/ab {{base}} {{head}} {{scenario}} {{repetitions}}

# The fair-comparison acceptance: 8 fresh deployments of each mode, then the check (the
# slowest run of a mode reaches 0.85x its median; every worker's share lies in 35-65%).
balance out="reports/balance-latest":
    cargo run --release -- scenario balance --out {{out}} && python3 .ci/balance_check.py {{out}}/results.json

# Capacity under the SLO (p99 ≤ 100 ms) of each mode at the main job's mix: 2.5 to 4 minutes
# a deployment (issue acceptance: run it twice, the capacities agree within 10%).
capacity scenario="capacity":
    cargo run --release -- capacity {{scenario}}

# What each mode loses when whatever runs its tasks is killed mid-run (issue #17's acceptance):
# six deployments, one SIGKILL each, restarted; about 6 minutes. tests/faults.rs runs a short
# representative pair in CI.
durability:
    cargo run --release -- scenario task_durability

# gunicorn_celery's broker killed mid-run and restarted 2 s later: errors during the outage and
# the time to reach the broker again (about 2 minutes).
broker-outage:
    cargo run --release -- scenario broker_outage

# The "Free Threaded Django" talk's comparisons on this machine's cores (issue #18): GIL and
# free-threaded, gunicorn/uvicorn/granian, WSGI and ASGI, sync and async views; ~6 minutes.
free-threaded-talk:
    cargo run --release -- scenario free_threaded_talk

# The pip-installable wheel of djbench (harness/pyproject.toml; maturin, a release build) into
# target/wheels/, e.g. for `pip install target/wheels/djbench-*.whl` on another machine. Its
# tag is plain linux_x86_64, which pip takes and PyPI refuses: publishing needs a manylinux
# build (`maturin build --release`).
wheel:
    python3 -m pip wheel --no-deps --wheel-dir target/wheels ./harness

# The wheel's round trip: built with maturin (dev profile), installed into a fresh venv, its
# djbench run from an empty folder (harness/tests/wheel.rs says why CI skips it).
wheel-test:
    cargo test --test wheel -- --include-ignored

# Check every shipped scenario.
validate:
    cargo run -q -- validate scenarios/*.yaml

# Show a scenario's plan without running it, e.g. `just plan talk_demo`.
plan name="compare_modes":
    cargo run -q -- scenario {{name}} --dry-run

# List the shipped scenarios and the modes.
list:
    cargo run -q -- list

# Write the scenario JSON Schema for editors.
schema out="scenario.schema.json":
    cargo run -q -- schema > {{out}}

# The harness's own performance (harness/benches/README.md): all three benches below.
bench:
    cargo bench

# Hot path of the load generator, per request, without the kernel (criterion).
bench-hot:
    cargo bench --bench hot_path

# The generator beside wrk and oha against nginx on pinned cores, then open loop at 5,000 req/s.
bench-ceiling:
    cargo bench --bench generator_ceiling

# The sampler's CPU on a 10-process tree, and the harness's RSS over a 10-minute run.
bench-footprint:
    cargo bench --bench harness_footprint
