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
