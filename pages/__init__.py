"""The app's pages, one file each: layout and widgets only (app.py lists them with st.navigation).
A package only so that import-linter can check that nothing imports a page (pyproject.toml)."""
