"""A training config's fields as form widgets: label, help, bounds, step and choices all come
from vae.config.FIELDS, the same source as the command line's flags (marked there with N_, translated
here)."""

from __future__ import annotations

import streamlit as st

from ui.language import labels_now
from vae.config import FIELDS
from vae.i18n import _


def config_widget(name: str, key: str, slider: bool = False):
    """The widget for one TrainConfig field (its value lives in session state under `key`)."""
    field = FIELDS[name]
    label, help_text = _(field.label), _(field.help)
    help_text = help_text[:1].upper() + help_text[1:] + "."
    if field.choices:
        choices = field.choices
        return st.selectbox(label, list(choices), key=key, help=help_text,
                            format_func=labels_now(choices, lambda value: _(choices[value])))
    if slider:
        return st.slider(label, field.low, field.high, key=key, help=help_text)
    return st.number_input(label, field.low, field.high, step=field.step, format=field.format, key=key,
                           help=help_text)
