"""What a fresh process pays before it does anything, in CPU: a Python that imports what a training
process imports before its first job (vae.training.loop: Keras and TensorFlow), against one that
imports only the settings (the interpreter's own start). The difference is what each of the test
suite's training processes spends on TensorFlow's import, the bound on what handing them an
interpreter with TensorFlow already loaded could save (docs/development.md). Alternates the two,
`--rounds` times each, one at a time; quotes medians.

Run: .venv/bin/python -m benchmarks.import_cost [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys

from vae.settings import ROOT

SETTINGS, TRAINING = "settings only", "a training process's imports"
IMPORTS = {SETTINGS: "import vae.settings", TRAINING: "import vae.training.loop"}


def cpu_of(statement: str) -> float:
    """CPU seconds (user + system) of one fresh interpreter running `statement`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    seconds: dict[str, list[float]] = {name: [] for name in IMPORTS}
    for _ in range(rounds):
        for name, statement in IMPORTS.items():
            seconds[name].append(round(cpu_of(statement), 2))
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    for name, values in seconds.items():
        print(f"{name}: median {medians[name]:.2f} s of CPU over {rounds} ({', '.join(map(str, values))})")
    print(f"TensorFlow's import in a training process: {medians[TRAINING] - medians[SETTINGS]:.2f} s of CPU")
    print(json.dumps({"rounds": rounds, "cpu_seconds": seconds, "median_cpu_seconds": medians}))


if __name__ == "__main__":
    main()
