"""The drawing pad's decompression bomb, sent as a hostile classmate would: over the websocket, a
20 KB PNG of 13 000 × 13 000 pixels as the pad's value (2.7 GB once decoded as the pad's reader
used to). Prints the server's peak memory (VmHWM) before and after, and what the page said.
Goal (issue 16): at most +100 MB, one sentence shown.

    .venv/bin/python -m benchmarks.drawing_bomb [--side 13000] [--sends 3]
"""

from __future__ import annotations

import argparse
import base64
import tempfile
from pathlib import Path

from tests.support.harness import AppServer
from tests.support.hostile import png_bomb
from tests.support.ws_client import StreamlitClient
from vae.config import TrainConfig
from vae.data import default_cache_dir, load_mnist
from vae.training.lab import train_and_save


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", type=int, default=13_000)
    parser.add_argument("--sends", type=int, default=3, help="the bomb is sent this many times (reruns too)")
    args = parser.parse_args()
    runs_dir = Path(tempfile.mkdtemp(prefix="bomb-runs-"))
    train_and_save(TrainConfig(hidden_dim=32, epochs=1, train_subset=512), load_mnist().subset(512), runs_dir, "run")
    server = AppServer(runs_dir, default_cache_dir(), runs_dir.parent / f"{runs_dir.name}.log")
    try:
        client = StreamlitClient(server.url)
        client.open_page("")
        before = peak_memory_mb(server.process.pid)
        bomb = png_bomb(args.side)
        data_url = "data:image/png;base64," + base64.b64encode(bomb).decode()
        said = []
        for _ in range(args.sends):
            outcome = client.set_component_state("latent_lab_drawing_pad", {"png": data_url})
            said = [text for text in outcome.texts if "pixels" in text] + outcome.exceptions
        after = peak_memory_mb(server.process.pid)
        client.close()
        print(f"bomb: {len(bomb):,} bytes of PNG, {args.side:,} × {args.side:,} pixels "
              f"({16 * args.side**2 / 1e9:.1f} GB as RGBA float32); sent {args.sends} times")
        print(f"server peak memory (VmHWM): before {before:.0f} MB, after {after:.0f} MB: {after - before:+.0f} MB "
              "(goal: at most +100 MB)")
        print(f"the page said: {said}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
