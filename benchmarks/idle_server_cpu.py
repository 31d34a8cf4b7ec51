"""What a server that never trains costs in CPU, with a training process kept warm (the product's
default) and without (LATENT_LAB_WARM_TRAINING=0, what the test suite's pages and servers run with):
a Streamlit server is started on a saved run, one session opens the explorer over the websocket, and
after a fixed span the CPU of the server and of every process below it is read from /proc (a
process that ended before is not counted). Alternates the two, `--rounds` times each.

Run: .venv/bin/python -m benchmarks.idle_server_cpu [--rounds 2] [--seconds 30]
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from tests.support.harness import AppServer
from tests.support.processes import cpu_seconds, descendants
from tests.support.ws_client import StreamlitClient
from vae.config import preset
from vae.data import default_cache_dir, load_mnist
from vae.training.lab import train_and_save


def server_cpu(runs_dir: Path, warm: bool, seconds: float) -> tuple[float, int]:
    """(CPU seconds of the server and everything below it, how many processes) `seconds` after it
    answered and a session opened the explorer."""
    log = runs_dir.parent / f"idle-{'warm' if warm else 'cold'}.log"
    server = AppServer(runs_dir, default_cache_dir(), log, {"LATENT_LAB_WARM_TRAINING": "1" if warm else "0"})
    try:
        client = StreamlitClient(server.url)
        client.open_page("")
        time.sleep(seconds)  # a fixed span to measure over, not a wait for a condition
        pids = descendants(server.process.pid)
        total = sum(cpu_seconds(pid) for pid in pids)
        client.close()
        return total, len(pids)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    runs_dir = Path(tempfile.mkdtemp(prefix="idle-runs-"))
    train_and_save(preset("default").replace(epochs=1, train_subset=2000), load_mnist(), runs_dir, "idle-demo")
    measured: dict[bool, list[tuple[float, int]]] = {True: [], False: []}
    for _ in range(args.rounds):
        for warm in (True, False):
            measured[warm].append(server_cpu(runs_dir, warm, args.seconds))
    figures = {("warm" if warm else "on_demand"): {
        "cpu_seconds": [round(cpu, 1) for cpu, _ in values],
        "median_cpu_seconds": round(statistics.median(cpu for cpu, _ in values), 1),
        "processes": [count for _, count in values]} for warm, values in measured.items()}
    warm, on_demand = figures["warm"]["median_cpu_seconds"], figures["on_demand"]["median_cpu_seconds"]
    print(f"a server that never trains, {args.seconds:.0f} s after one session opened the explorer "
          f"(median of {args.rounds}): {warm} s of CPU with a training process kept warm, {on_demand} s "
          f"with none until a training is asked for (LATENT_LAB_WARM_TRAINING=0): {warm - on_demand:.1f} s less")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
