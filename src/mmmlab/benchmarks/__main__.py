"""`make bench`: run every benchmark module, or the ones named on the command line."""

import importlib
import pkgutil
import sys

import mmmlab.benchmarks as package


def main(names: list[str]) -> None:
    available = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))
    for name in names or available:
        path = importlib.import_module(f"mmmlab.benchmarks.{name}").run()
        print(f"{name}: wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
