"""Where jobs run, outside the web process.

- `engine_process`: the program of one engine worker process (models loaded once, jobs run by
  `services.job_execution`), spawned as a fresh interpreter - never a fork of the web process.
- `pool`: the supervisor inside `main.py serve` that keeps ENGINE_WORKERS of them alive, hands
  them jobs, replaces a worker that dies (its job failed and refunded), enforces the memory cap
  and ends a job within 2 s of a cancel.
- `warm`: what a worker loads at start.
- `celery_queue` / `celery_worker`: the scale-out path when QUEUE_URL is set.
"""
