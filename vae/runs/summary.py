"""A saved run's summary (config and metrics), read and checked; listing every run of a folder,
newest first, skipping (and reporting) what cannot be read."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from vae.config import TrainConfig, preset_word
from vae.errors import RunError
from vae.i18n import N_, _, ngettext
from vae.runs.names import NAME_PATTERN, default_runs_dir, run_path
from vae.states import RUN_STATUS_LABELS, SAVED_STATUSES, RunStatus

RUN_FILES = ("config.json", "history.csv", "metrics.json", "encoder.keras", "decoder.keras")
MAX_JSON_BYTES = 1_000_000  # config.json, metrics.json: a few KB when we write them
STATUSES = SAVED_STATUSES
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSummary:
    name: str
    config: TrainConfig
    metrics: dict
    path: Path

    @property
    def created_at(self) -> str:
        return str(self.metrics.get("created_at", ""))

    @property
    def test_neg_elbo(self) -> float | None:
        value = self.metrics.get("test_neg_elbo")
        return float(value) if isinstance(value, (int, float)) else None

    def one_line(self) -> str:
        """The run in one line, in the session's language (the sidebar's picker, Compare runs)."""
        elbo = f"{self.test_neg_elbo:.1f}" if self.test_neg_elbo is not None else "?"
        preset, epochs = self.metrics.get("preset"), self.metrics.get("epochs_completed", self.config.epochs)
        fields = {"name": self.name, "preset": preset_word(preset) if preset else _("custom"),
                  "latent_dim": self.config.latent_dim, "elbo": elbo, "epochs": epochs}
        status = self.metrics.get("status", RunStatus.COMPLETED)
        if status == RunStatus.COMPLETED:  # English says "1 epochs" as it always has; Spanish "1 época"
            return ngettext("{name} — {preset}, latent {latent_dim}, {epochs} epochs, −ELBO {elbo}",
                            "{name} — {preset}, latent {latent_dim}, {epochs} epochs, −ELBO {elbo}",
                            epochs).format(**fields)
        return ngettext("{name} — {preset}, latent {latent_dim}, {epochs} epochs, −ELBO {elbo}, {status}",
                        "{name} — {preset}, latent {latent_dim}, {epochs} epochs, −ELBO {elbo}, {status}",
                        epochs).format(status=_(RUN_STATUS_LABELS[status]) if status in RUN_STATUS_LABELS
                                       else status, **fields)


@dataclass(frozen=True)
class RunProblem:
    """A run folder that cannot be read: its name (so it can still be deleted) and why."""

    name: str
    reason: str

    def __str__(self) -> str:
        return self.reason


@dataclass
class RunListing:
    runs: list[RunSummary] = field(default_factory=list)  # newest first
    problems: list[RunProblem] = field(default_factory=list)  # one per run folder that was skipped


def read_summary(path: Path) -> RunSummary:
    missing = [f for f in RUN_FILES if not (path / f).is_file()]
    if missing:
        raise RunError(_("run {run!r} is missing {files}").format(run=path.name, files=", ".join(missing)))
    try:
        config = TrainConfig.from_dict(_read_json(path / "config.json"))
        metrics = _read_json(path / "metrics.json")
    except (ValueError, TypeError, OSError, RecursionError) as error:  # JSON and ConfigError are ValueErrors
        raise RunError(_("run {run!r} has an unreadable config.json or metrics.json ({error})").format(
            run=path.name, error=error)) from None
    if not isinstance(metrics, dict):
        raise RunError(_("run {run!r}: metrics.json is not a JSON object").format(run=path.name))
    problem = _metrics_problem(metrics)
    if problem:
        key, kind = problem
        raise RunError(_("run {run!r}: metrics.json has {key} that is not {kind}").format(
            run=path.name, key=key, kind=_(kind).format(statuses=", ".join(STATUSES))))
    return RunSummary(path.name, config, metrics, path)


def _read_json(path: Path):
    if path.stat().st_size > MAX_JSON_BYTES:
        raise ValueError(_("{file} is larger than {limit:,} bytes").format(file=path.name, limit=MAX_JSON_BYTES))
    return json.loads(path.read_bytes().decode("utf-8"))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# What the pages read from metrics.json, and what each must be: a hand-edited or damaged file is
# refused here, once, rather than failing in whichever page reads the field. What each must be is
# marked N_ (a `{statuses}` field filled in where it is said).
_METRIC_CHECKS = {
    "created_at": (lambda v: isinstance(v, str), N_("a text")),
    "test_neg_elbo": (_is_number, N_("a number")),
    "test_reconstruction_loss": (_is_number, N_("a number")),
    "test_kl_loss": (_is_number, N_("a number")),
    "mean_sse": (_is_number, N_("a number")),
    "train_seconds": (_is_number, N_("a number")),
    "epochs_completed": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, N_("a whole number")),
    "status": (lambda v: v in STATUSES, N_("one of {statuses}")),
    "preset": (lambda v: v is None or isinstance(v, str), N_("a text")),
    "per_class_sse": (lambda v: isinstance(v, list) and len(v) == 10 and all(x is None or _is_number(x) for x in v),
                      N_("a list of 10 numbers")),
    "owner": (lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()), N_("an object of texts")),
}


def _metrics_problem(metrics: dict) -> tuple[str, str] | None:
    """(the field, what it must be, in English) of the first field of metrics.json that is wrong."""
    for key, (valid, kind) in _METRIC_CHECKS.items():
        if key in metrics and not valid(metrics[key]):
            return key, kind
    return None


def list_runs(root: Path | None = None) -> RunListing:
    """Every readable run, newest first; unreadable ones are skipped with a reason, never raised."""
    root = Path(root or default_runs_dir())
    listing = RunListing()
    if not root.is_dir():
        return listing
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or not path.is_dir() or not NAME_PATTERN.fullmatch(path.name):
            continue
        try:
            listing.runs.append(read_summary(path))
        except RunError as error:
            log.warning("skipping %s", error)
            listing.problems.append(RunProblem(path.name, str(error)))
    listing.runs.sort(key=lambda run: (run.created_at, run.name), reverse=True)
    return listing



def find_run(root: Path, name: str) -> RunSummary:
    path = run_path(Path(root), name)
    if not path.is_dir():
        raise RunError(_("No run named {name!r} in {root}.").format(name=name, root=root))
    return read_summary(path)
