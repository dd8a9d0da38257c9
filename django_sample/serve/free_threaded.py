"""The free_threaded mode: one free-threaded CPython process whose web workers and task
workers are threads.

The app and its task threads load first; if the GIL is on after that (an extension module
without free-threading support turns it back on), the launcher refuses to serve and names the
module. Then it serves in-process (waitress, cheroot, uvicorn) or hands over to a server's
own command line (granian, gunicorn's gthread worker), whose worker process repeats the check
when it loads the app.

Interfaces (--interface): wsgi (default; granian, gunicorn_gthread, waitress, cheroot) or asgi
(granian, uvicorn). What --threads W is:
- wsgi: W serving threads (granian's blocking threads, gunicorn's or the server's threads);
- asgi: W threads run Django's sync code (sync views and middleware, the ORM of async views,
  sync_to_async): serve.asgithreads, through DJBENCH_ASGI_THREADS, instead of asgiref's new
  thread per request. Async code runs on one event loop: uvicorn's, in a thread of this
  process; granian's, in its one worker process, with W runtime threads (its Rust I/O
  threads) around it.

Task backends (--task-backend): memory (default), a queue.Queue in the process that its task
threads take from, so queued tasks die with the process; database, django-tasks-db: web
threads write each task as a row, and each task thread runs django-tasks-db's worker loop
(bench/backends/dbworker.py), so queued tasks outlive a killed process.

    python serve/free_threaded.py --bind 127.0.0.1:8000 --threads 2 --task-threads 2
"""

import argparse
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
from serve import servers  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default="127.0.0.1:8000")
    parser.add_argument("--threads", type=int, default=2, help="serving threads")
    parser.add_argument("--task-threads", type=int, default=2)
    parser.add_argument(
        "--task-backend",
        default="memory",
        choices=["memory", "database"],
        help="memory: an in-process queue (default); database: django-tasks-db",
    )
    parser.add_argument(
        "--server",
        default="granian",
        choices=["granian", "gunicorn_gthread", "waitress", "cheroot", "uvicorn"],
    )
    parser.add_argument(
        "--interface",
        default="wsgi",
        choices=["wsgi", "asgi"],
        help="the application the server is given: serve.entry's application or asgi_application",
    )
    parser.add_argument("--backlog", type=int, default=1024, help="listen backlog")
    parser.add_argument(
        "--allow-gil",
        action="store_true",
        help="serve even with the GIL on (a deliberate GIL build, like the GIL twin)",
    )
    args = parser.parse_args()
    asgi = args.interface == "asgi"
    if asgi and args.threads < 1:
        parser.error("--threads must be at least 1 under --interface asgi")
    if args.server == "gunicorn_gthread" and asgi:
        parser.error("--server gunicorn_gthread cannot serve --interface asgi (it serves wsgi)")
    if args.server in servers.INTERFACES:
        servers.check_interface(parser, args.server, args.interface)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djsample.settings")
    if asgi:
        # serve.entry wraps its asgi_application so that W threads run sync code, in
        # whichever process serves (granian's worker, too).
        os.environ["DJBENCH_ASGI_THREADS"] = str(args.threads)
    if args.task_threads and args.task_backend == "database":
        os.environ["DJBENCH_TASKS"] = "database"
        # serve.entry starts them in whichever process serves (granian's worker, too).
        os.environ["DJBENCH_DB_WORKER_THREADS"] = str(args.task_threads)
    elif args.task_threads:
        # 0: web only (a project that does not use django.tasks, or brings its own backend).
        os.environ["DJBENCH_TASKS"] = "threads"
        os.environ["DJBENCH_TASK_THREADS"] = str(args.task_threads)
    os.environ.setdefault("DJBENCH_SERVER", args.server)
    if not args.allow_gil:
        os.environ["DJBENCH_REQUIRE_NO_GIL"] = "1"
    host, port = args.bind.rsplit(":", 1)
    venv_bin = Path(sys.executable).parent

    if args.server in ("granian", "gunicorn_gthread"):
        # Load the app here first, so a module that turns the GIL on fails the launch at once,
        # named, rather than in a server worker that gets restarted again and again.
        from bench import freethreading

        freethreading.watch()
        import django

        django.setup()
        __import__(args.server.split("_")[0])
        freethreading.require_if_asked()

    if args.server == "granian" and asgi:
        # One worker process, its event loop fed by W runtime threads; the sync code's W
        # threads come from DJBENCH_ASGI_THREADS (granian's blocking threads are the loop's
        # under ASGI). asginl is ASGI without the lifespan protocol: Django refuses it, and
        # with `asgi` granian logs that as an error at every start, then serves the same.
        exe = shutil.which("granian", path=str(venv_bin)) or "granian"
        os.execv(exe, [exe, "--interface", "asginl", "--host", host, "--port", port,
                       "--workers", "1", "--runtime-threads", str(args.threads),
                       "--backlog", str(args.backlog), "--no-ws",
                       "--log-level", "warning",
                       "serve.entry:asgi_application"])
    if args.server == "granian":
        exe = shutil.which("granian", path=str(venv_bin)) or "granian"
        os.execv(exe, [exe, "--interface", "wsgi", "--host", host, "--port", port,
                       "--workers", "1", "--blocking-threads", str(args.threads),
                       "--runtime-threads", "1", "--backlog", str(args.backlog), "--no-ws",
                       "--log-level", "warning",
                       "serve.entry:application"])
    if args.server == "gunicorn_gthread":
        exe = shutil.which("gunicorn", path=str(venv_bin)) or "gunicorn"
        os.execv(exe, [exe, "--bind", args.bind, "--workers", "1", "--worker-class", "gthread",
                       "--threads", str(args.threads), "--backlog", str(args.backlog),
                       "--no-control-socket",
                       "serve.entry:application"])

    # serve.entry watches imports, loads Django and the app, starts the task threads and
    # exits with status 3 if the GIL is on.
    from serve import entry
    from bench import freethreading

    # One server whose threads take requests from its own queue (or one event loop): nothing
    # to hand off.
    listener = servers.listen(host, port, args.backlog)
    app = entry.asgi_application if asgi else entry.application
    stop = servers.IN_PROCESS[args.server](
        listener, app, args.threads, args.backlog, interface=args.interface
    )
    # The server's own imports came after serve.entry's check: check again before saying
    # it serves.
    freethreading.require_if_asked()
    print(f"djbench free_threaded: serving {args.interface} on {args.bind} with "
          f"{args.threads} threads ({args.server})", flush=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    stopping.wait()
    threading.Timer(8, lambda: os._exit(1)).start()
    stop()
    from django.tasks import task_backends

    stop_tasks = getattr(task_backends["default"], "stop", None)
    if stop_tasks is not None:
        stop_tasks()
    from bench.backends import dbworker

    dbworker.stop_threads()
    os._exit(0)


if __name__ == "__main__":
    main()
