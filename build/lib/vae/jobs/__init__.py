"""The training queue and its worker processes. The web server runs queue, job, policy, pool,
process, protocol and estimates (no TensorFlow); a worker process runs worker and training_job,
which import vae.training. import-linter checks the line between them (pyproject.toml)."""
