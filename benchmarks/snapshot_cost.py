"""What the latent-space snapshots cost a training, and what they add to a run, without a browser:
plain `model.fit` against our `train()` taking live snapshots as a worker does (one after the first
group of batches, then every 4 s, and one per epoch's end, each serialised to a JSON line as the
worker writes it), alternately in this process; then the bytes a run gains (replay.npz) and the
size of one live snapshot line.

Run: .venv/bin/python -m benchmarks.snapshot_cost [--epochs 3] [--repeats 3]
"""

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from train_speed import plain_fit_seconds

from vae import runs
from vae.config import preset
from vae.data import load_mnist
from vae.jobs.protocol import snapshot_message
from vae.jobs.training_job import LIVE_SNAPSHOT_SECONDS
from vae.training.lab import train_and_save
from vae.training.loop import train


class LineCounter:
    """Serialises each snapshot as the worker does, and keeps only the counts."""

    def __init__(self):
        self.snapshots, self.bytes = 0, []

    def on_batch(self, progress): ...

    def on_epoch(self, summary): ...

    def on_snapshot(self, snapshot):
        self.snapshots += 1
        self.bytes.append(len(json.dumps({"event": "snapshot", **snapshot_message(snapshot)})))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = load_mnist()
    config = preset("default").replace(epochs=args.epochs)
    plain, ours, lines = [], [], LineCounter()
    for repeat in range(args.repeats):
        plain.append(plain_fit_seconds(config, data))
        ours.append(train(config, data, [lines], live_seconds=LIVE_SNAPSHOT_SECONDS).seconds / config.epochs)
        print(f"repeat {repeat + 1}: plain fit {plain[-1]:.2f} s/epoch, with live snapshots {ours[-1]:.2f} s/epoch",
              flush=True)
    ratio = statistics.median(plain) / statistics.median(ours)
    print(f"median seconds per epoch: plain fit {statistics.median(plain):.2f}, with snapshots "
          f"{statistics.median(ours):.2f}; throughput ratio {ratio:.3f}; "
          f"{lines.snapshots / args.repeats:.1f} snapshots per training, "
          f"median line {statistics.median(lines.bytes) / 1e6:.2f} MB")

    folder = Path(tempfile.mkdtemp(prefix="snapshot-bytes-"))
    sizes = {}
    for name in ("default", "tutorial"):
        saved = train_and_save(preset(name), data, folder, name, name)
        sizes[name] = (saved.path / runs.REPLAY_FILE).stat().st_size
        epochs = saved.metrics["epochs_completed"]
        print(f"{name}: replay.npz {sizes[name] / 1e3:.0f} KB for {epochs} epochs "
              f"({sizes[name] / epochs / 1e3:.0f} KB per epoch)", flush=True)
    print(json.dumps({"plain_fit_seconds_per_epoch": round(statistics.median(plain), 3),
                      "with_snapshots_seconds_per_epoch": round(statistics.median(ours), 3),
                      "throughput_ratio": round(ratio, 3),
                      "live_line_megabytes": round(statistics.median(lines.bytes) / 1e6, 3),
                      "replay_bytes": sizes}))


if __name__ == "__main__":
    main()
