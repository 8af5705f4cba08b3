"""Run the whole stack on one machine: `bin/run` for development, `bin/test` for the suites."""
