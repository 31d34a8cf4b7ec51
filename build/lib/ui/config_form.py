"""A training config's fields as form widgets: label, help, bounds, step and choices all come
from vae.config.FIELDS, the same source as the command line's flags."""

from __future__ import annotations

import streamlit as st

from vae.config import FIELDS


def config_widget(name: str, key: str, slider: bool = False):
    """The widget for one TrainConfig field (its value lives in session state under `key`)."""
    field = FIELDS[name]
    help_text = field.help[:1].upper() + field.help[1:] + "."
    if field.choices:
        return st.selectbox(field.label, list(field.choices), key=key, format_func=field.choices.get, help=help_text)
    if slider:
        return st.slider(field.label, field.low, field.high, key=key, help=help_text)
    return st.number_input(field.label, field.low, field.high, step=field.step, format=field.format, key=key,
                           help=help_text)
