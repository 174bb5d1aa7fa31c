"""bertlab's benchmarks: each script measures bertlab against a baseline in the same run and
prints the ratio; `python -m benchmarks` gathers them into one table (see benchmarks/README.md)."""
