"""Latent Lab: `streamlit run app.py`. Lays out the navigation and the shared sidebar, nothing else."""

import streamlit as st

from ui.language import choose_language
from ui.navigation import PAGES, TITLES
from ui.presenter import presenter_on
from ui.shell import app_style
from ui.sidebar import sidebar
from vae.i18n import _

# Presenter mode folds the sidebar away (once, as it is switched on: the teacher may open it again)
# and puts the pages in a bar along the top, so moving between them needs no sidebar.
st.set_page_config(page_title="Latent Lab", layout="wide",
                   initial_sidebar_state="collapsed" if presenter_on() else "auto")
choose_language()
app_style()

navigation = st.navigation([st.Page(PAGES[key], title=_(TITLES[key]), default=key == "explorer") for key in PAGES],
                           position="top" if presenter_on() else "sidebar")
sidebar()
navigation.run()
