"""Fragments that redraw themselves on a timer, all made by `refreshing_fragment`, which first
redraws the whole page of a following student whose teacher has moved on. Streamlit drops a
fragment's timed rerun while any other run is in progress, so on a page whose fragments refresh
every second the follow watch's own turn may never come (seen under load on the class map): every
timed fragment therefore checks the lead itself."""

from __future__ import annotations

import functools

import streamlit as st

from ui import follow


def refreshing_fragment(seconds: float | None):
    """`@st.fragment(run_every=seconds)` (None: it does not refresh itself), the follow check first."""

    def decorate(body):
        @st.fragment(run_every=seconds)
        @functools.wraps(body)
        def fragment(*args, **kwargs):
            follow.rerun_if_lead_moved()
            return body(*args, **kwargs)

        return fragment

    return decorate
