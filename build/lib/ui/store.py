"""The durable store of this server's queue and classroom settings (vae.jobs.store), one per runs
folder, beside the runs: what survives a restart of the server."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from vae.jobs.store import JobStore
from vae.runs import default_runs_dir


@st.cache_resource(show_spinner=False)
def _store(runs_dir: str) -> JobStore:
    return JobStore.beside(Path(runs_dir))


def job_store() -> JobStore:
    return _store(str(default_runs_dir()))
