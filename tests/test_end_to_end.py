"""The one slow path: the real default preset, 1 epoch on all 60 000 images, through the CLI."""

import json

from vae.cli import main
from vae.config import preset


def test_default_preset_for_one_epoch_on_the_full_data(mnist, runs_dir, capsys):  # mnist: in the test cache folder
    assert main(["train", "--preset", "default", "--epochs", "1", "--name", "real"]) == 0
    assert capsys.readouterr().out.strip().endswith("Saved run: real")
    # K = 5, not the default 100: the bound's cost grows with K (most of this test's time at 100), and
    # what is checked here is that the real run has a live posterior whose bound is tighter than its ELBO.
    assert main(["evaluate", "real", "--json", "--iw-samples", "5"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # After one epoch the real recipe is already well below 180 nats with a live posterior
    # (a collapsed one would have KL near 0).
    assert figures["test_neg_elbo"] < 180
    assert figures["test_kl_loss"] > 2
    assert figures["test_iw_nll_k5"] < figures["test_neg_elbo"]  # more samples, a tighter bound
    saved = json.loads((runs_dir / "real" / "config.json").read_text())
    assert saved == {**preset("default").to_dict(), "epochs": 1}
