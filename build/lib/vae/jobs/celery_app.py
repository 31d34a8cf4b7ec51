"""Past one machine: the training queue's jobs run on Celery workers, with Redis as the broker and
the channel for everything else. Set LATENT_LAB_BROKER=redis://:PASSWORD@host:6379/0 in the
environment of the web server and of each worker machine (vae.jobs.broker checks it). What
travels where, all under the `latent-lab:` prefix:

  job:<id>:events     a stream: the job's protocol lines (vae.jobs.protocol), and heartbeats
  job:<id>:commands   a stream: Stop, Watch and kill, from the web server to the task
  job:<id>:claimed    which dispatch of the job runs it (a lost dispatch re-sent runs once)
  dispatch:<token>:cancelled   a dispatch the web server took back before a worker claimed it
  job:<id>:run        the saved run, packed (vae.runs.transfer): no shared filesystem is needed
  worker:<name>       each worker's heartbeat: alive, and which job it runs (if any)

No TensorFlow here: the web server imports this module too."""

from __future__ import annotations

from celery import Celery

QUEUE = "latent-lab"
TASK = "latent_lab.train"
PREFIX = "latent-lab:"
HEARTBEAT_SECONDS = 2.0  # a running task and every worker say they are alive this often
WORKER_TTL_SECONDS = 10  # a worker silent for this long is gone
RUN_TTL_SECONDS = 6 * 3600  # a packed run waits this long for the web server to take it
STREAM_MAXLEN = 500  # a job's stream keeps about this many entries (its curve is rebuilt from them)


def make_app(broker_url: str) -> Celery:
    """The Celery app, configured as a FIFO of coarse jobs: a worker takes one job at a time and
    acknowledges it only when done (so a busy worker never holds a second one back from an idle
    one); a job lost with its worker is not retried (its owner is told, and can start it again)."""
    app = Celery("latent_lab", broker=broker_url, backend=None)
    app.conf.update(
        task_acks_late=True, worker_prefetch_multiplier=1, task_reject_on_worker_lost=False,
        task_default_queue=QUEUE, task_ignore_result=True, broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 24 * 3600}, worker_hijack_root_logger=False,
    )
    return app


def key(*parts: str) -> str:
    return PREFIX + ":".join(parts)


# A dispatch is claimed by a worker, or taken back by the web server, never both: each is one Lua
# script, which Redis runs with nothing in between, so a dispatch taken back as lost cannot be
# claimed a moment later and then train a job the server has sent again.
CLAIMED, TAKEN_BACK, CLAIMED_BY_ANOTHER = 1, 0, 2
CLAIM_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'EX', 86400) then return 1 end
return 2
"""  # KEYS: dispatch:<token>:cancelled, job:<id>:claimed; ARGV: the claim
TAKE_BACK_SCRIPT = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], '1', 'EX', 86400)
return 1
"""  # KEYS: dispatch:<token>:cancelled, job:<id>:claimed; 1 if taken back, 0 if a worker has it


def claim_keys(job_id: str, token: str) -> list[str]:
    return [key("dispatch", token, "cancelled"), key("job", job_id, "claimed")]
