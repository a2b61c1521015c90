"""The Chinese demo company `make run` serves, and its made-up history. Nothing in the product
imports this package; only the shell commands, the tests and the benchmarks do."""
