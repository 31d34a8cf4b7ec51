"""What the pages share: the app shell, cached runs and data, the training client, the sidebar.
Never imported by `vae/`; imports no TensorFlow."""
