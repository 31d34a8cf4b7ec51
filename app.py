"""Latent Lab: `streamlit run app.py`. Lays out the navigation and the shared sidebar, nothing else."""

import streamlit as st

from ui.shell import PAGES
from ui.sidebar import sidebar

st.set_page_config(page_title="Latent Lab", layout="wide")
# Digits are drawn pixel by pixel: never let the browser blur them when it scales an image.
st.html("<style>img { image-rendering: pixelated; }</style>")

navigation = st.navigation([
    st.Page(PAGES["explorer"], title="Latent explorer", default=True),
    st.Page(PAGES["train"], title="Train"),
    st.Page(PAGES["reconstruction"], title="Reconstruction errors"),
    st.Page(PAGES["compare"], title="Compare digits"),
    st.Page(PAGES["runs"], title="Compare runs"),
    st.Page(PAGES["lesson"], title="Lesson"),
    st.Page(PAGES["classroom"], title="Classroom"),
])
sidebar()
navigation.run()
