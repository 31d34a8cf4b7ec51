"""`python -m vae train`: a progress bar per epoch on a terminal (one line per epoch in a log),
Ctrl-C stops after the current batch and keeps the run."""

from __future__ import annotations

import signal
import sys
import threading

from tqdm import tqdm

from vae import runs
from vae.datasets import load_dataset
from vae.training.download import DOWNLOADS
from vae.training.lab import train_and_save


class _ProgressBars:
    """One tqdm bar per epoch on a terminal, test figures printed as each epoch ends. When stderr
    is not a terminal (a log file, CI) there is no bar: one line per epoch, nothing else."""

    def __init__(self, interactive: bool | None = None):
        self._tqdm = tqdm
        self._bar = None
        self._lock = threading.Lock()
        self._interactive = sys.stderr.isatty() if interactive is None else interactive

    def on_batch(self, progress):
        if not self._interactive:
            return
        with self._lock:
            if self._bar is None:
                self._bar = self._tqdm(total=progress.batches_per_epoch, unit="batch", leave=True,
                                       desc=f"epoch {progress.epoch}/{progress.epochs}", file=sys.stderr)
            self._bar.n = progress.batch
            self._bar.set_postfix(loss=f"{progress.metrics['loss']:.1f}", refresh=False)
            self._bar.refresh()

    def on_epoch(self, summary):
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
        test = summary.test
        print(f"epoch {summary.epoch}/{summary.epochs} ({summary.elapsed_seconds:.0f} s): "
              f"test -ELBO {test['loss']:.2f} = reconstruction "
              f"{test['reconstruction_loss']:.2f} + KL {test['kl_loss']:.2f}", flush=True)


def run(args) -> int:
    config = args.config
    runs_dir = args.runs_dir or runs.default_runs_dir()
    data = load_dataset(config.dataset, download=DOWNLOADS[config.dataset], path=args.mnist)
    print(f"Training {config.describe()} ({args.preset} preset) on {data.source}. Ctrl-C stops and keeps the run.")
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        saved = train_and_save(config, data, runs_dir, args.name, args.preset, [_ProgressBars()], stop)
    finally:
        signal.signal(signal.SIGINT, previous)
    m = saved.metrics
    print(f"Status: {m['status']} after {m['epochs_completed']} epochs, {m['train_seconds']:.0f} s. "
          f"Test -ELBO {m['test_neg_elbo']:.2f} (reconstruction {m['test_reconstruction_loss']:.2f}, "
          f"KL {m['test_kl_loss']:.2f}); mean per-image SSE {m['mean_sse']:.2f}.")
    print(f"Saved run: {saved.name}")
    return 0
