"""Latent Lab: `streamlit run app.py`. Lays out the navigation and the shared sidebar, nothing else."""

import streamlit as st

from pages import common

common.keep_keras_state_between_reruns()

st.set_page_config(page_title="Latent Lab", layout="wide")
# Digits are drawn pixel by pixel: never let the browser blur them when it scales an image.
st.html("<style>img { image-rendering: pixelated; }</style>")

navigation = st.navigation([
    st.Page(common.PAGES["explorer"], title="Latent explorer", default=True),
    st.Page(common.PAGES["train"], title="Train"),
    st.Page(common.PAGES["reconstruction"], title="Reconstruction errors"),
    st.Page(common.PAGES["compare"], title="Compare digits"),
])
common.sidebar()
navigation.run()
