import subprocess, sys, tempfile, threading, time
from pathlib import Path
from tests.support.harness import AppServer
from tests.support.classroom_load import run_load
from vae.config import preset
from vae.data import default_cache_dir, load_mnist
from vae.training.lab import train_and_save
root = Path(sys.argv[1])
runs_dir = Path(tempfile.mkdtemp())
train_and_save(preset("default").replace(epochs=1, train_subset=2000), load_mnist(), runs_dir, "class-demo")
server = AppServer(runs_dir, default_cache_dir(), runs_dir.parent / "p.log", root=root)
try:
    def spy():
        time.sleep(8)
        subprocess.run(["/tmp/pyspy/bin/py-spy", "record", "-p", str(server.process.pid), "-d", "15", "-r", "200", "-f", "raw", "-o", sys.argv[2], "--nonblocking"], env={"PYTHONPATH": "/tmp/pyspy"})
    t = threading.Thread(target=spy); t.start()
    print(run_load([server.url], 5, 25, 0, runs_dir)["moves"])
    t.join()
finally:
    server.stop()
