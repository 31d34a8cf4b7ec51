"""Training: the only code that imports TensorFlow and Keras (the model, the training loop,
train-and-save, Keras files, the MNIST download). Worker processes and the CLI run it; the web
server never does, which import-linter checks (pyproject.toml)."""

import os

# Before any module of this package imports Keras: its backend, and TensorFlow's start-up chatter off.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
