"""django-tasks-db's worker loop, run where djbench's launchers need it: in a task
subinterpreter (serve/subinterpreters.py) or in task threads of the serving process
(serve/free_threaded.py through serve.entry), never as `manage.py db_worker`.

Why not the command: `db_worker` installs signal handlers first, and signal.signal() fails in
a subinterpreter and in any thread but the main one. Its Worker(...).run() alone needs
neither; here a launcher stops it by clearing `running` (its own SIGTERM handler does the same),
and it stops after the task in hand, within one poll interval when idle.

What this module must not do: enqueue (that is django-tasks-db's DatabaseBackend, the
DJBENCH_TASKS=database backend every web worker uses), or touch signals.

The poll interval is DJBENCH_DB_WORKER_INTERVAL seconds, default 0.1: db_worker's own
default, 1 s, would add up to a second of pick-up latency to every task that arrives while
the workers sleep, which is a choice of the command line, not a property of the backend; at
0.1 s each idle worker costs ten short write transactions a second (django-tasks-db claims a
task under an exclusive transaction on SQLite), a cost the measurements include.
"""

import atexit
import logging
import os
import threading
import time

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 0.1
# How long an exiting process waits for its worker threads' tasks: djbench's teardown grace
# is longer, and serve/free_threaded.py's own stop timer is the same 8 s.
EXIT_GRACE_S = 8.0

_threads = []
_workers = []
_lock = threading.Lock()
# Set by stop_threads: a thread that makes its worker afterwards stops it at once.
_stopping = threading.Event()
_threads_started_once = []


def poll_interval():
    """Seconds an idle worker sleeps between polls (DJBENCH_DB_WORKER_INTERVAL)."""
    return float(os.environ.get("DJBENCH_DB_WORKER_INTERVAL", DEFAULT_INTERVAL_S))


def make_worker(backend_name="default"):
    """A django-tasks-db Worker for `backend_name` that takes every queue, polls every
    poll_interval() seconds and starts at once (no random start-up delay: djbench waits for
    the heartbeats anyway)."""
    from django_tasks_db.management.commands.db_worker import Worker

    from bench.models import worker_name

    # Unique per process, interpreter and thread; django-tasks-db allows 64 characters.
    worker_id = "djbench " + worker_name()
    return Worker(
        queue_names=["*"],
        interval=poll_interval(),
        batch=False,
        backend_name=backend_name,
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id[:64],
        excluded_queue_names=[],
    )


def run(worker):
    """Reports this worker ready (djbench waits for every heartbeat), then runs tasks until
    `worker.running` is cleared."""
    from bench.models import WorkerHeartbeat

    WorkerHeartbeat.report("database")
    worker.run()


def _thread_main():
    worker = make_worker()
    with _lock:
        _workers.append(worker)
        if _stopping.is_set():
            worker.running = False
    try:
        run(worker)
    except Exception:
        logger.exception("django-tasks-db worker thread failed")
        raise


def start_threads(count):
    """Starts `count` worker threads in this process (idempotent: once per process). Daemon
    threads, as the threads backend's, so they never keep a process alive by themselves; a
    server that ends its process without calling stop_threads (granian on SIGTERM) still lets
    them finish the task in hand, through the atexit hook, which runs before daemon threads
    are killed."""
    with _lock:
        if _threads:
            return
        if not _threads_started_once:
            atexit.register(stop_threads, EXIT_GRACE_S)
            _threads_started_once.append(True)
        for i in range(count):
            t = threading.Thread(target=_thread_main, name=f"djbench-dbworker-{i}", daemon=True)
            _threads.append(t)
            t.start()


def stop_threads(timeout=None):
    """Lets each worker thread finish the task it holds, then ends them, waiting at most
    `timeout` seconds in all (None: as long as they take); start_threads may then start new
    ones (the tests do)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with _lock:
        _stopping.set()
        workers, threads = list(_workers), list(_threads)
    for w in workers:
        w.running = False
    for t in threads:
        t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
    with _lock:
        _threads.clear()
        _workers.clear()
        _stopping.clear()
