"""Measurements (never assertions): each module's ``run()`` writes reports/benchmarks/<name>.json."""
