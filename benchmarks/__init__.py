"""gpuaug's benchmark suite (run from a source checkout): ``python benchmarks/run.py --help``."""
