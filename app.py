"""Latent Lab: `streamlit run app.py`. Lays out the navigation and the shared sidebar, nothing else."""

import streamlit as st

from ui.follow import new_app_run
from ui.navigation import PAGES, TITLES
from ui.shell import app_style
from ui.sidebar import sidebar

st.set_page_config(page_title="Latent Lab", layout="wide")
new_app_run()
app_style()

navigation = st.navigation([st.Page(PAGES[key], title=TITLES[key], default=key == "explorer") for key in PAGES])
sidebar()
navigation.run()
