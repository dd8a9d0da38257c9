"""The subinterpreters mode: one CPython 3.14 process serving the app from isolated
subinterpreters, each with its own GIL.

The main interpreter binds the listening socket, accepts, and supervises. It hands each
connection to the next of W web subinterpreters in turn (servers.dispatch), each serving WSGI
on the connections it is handed; hypercorn, which makes its own socket object, and uvicorn,
whose asyncio accepts by itself, serve on a dup of the listening socket instead, and the
kernel decides. `--interface asgi` (hypercorn, uvicorn) serves serve.entry's
asgi_application in each web subinterpreter, its sync code on --threads threads of that
subinterpreter (serve.asgithreads: stock Django's thread per request ends in a daemon thread,
which subinterpreters refuse). Each of T task subinterpreters runs tasks from a concurrent.interpreters.Queue
that the web ones fill through Django's task framework. Signals only reach the main
interpreter, so SIGTERM is relayed to the others through queues: web servers stop taking
requests, task workers finish what they hold, then the process exits.

Task backends (--task-backend): memory (default), the concurrent.interpreters.Queue above, so
queued tasks die with the process; database, django-tasks-db: web subinterpreters write each
task as a row, and each task subinterpreter runs django-tasks-db's worker loop
(bench/backends/dbworker.py; its db_worker command cannot run here, it installs signal
handlers), so queued tasks outlive a killed process.

    python serve/subinterpreters.py --bind 127.0.0.1:8000 --web 2 --tasks 2 --server cheroot
"""

import argparse
import os
import signal
import socket
import sys
import threading
from concurrent import interpreters
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from serve import servers  # noqa: E402

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent

WEB = """
import sys
sys.path[:0] = paths
import socket
from serve import servers
from serve import entry
import bench.backends.interpreters as backend

backend.QUEUE = tasks_queue
sock = socket.socket(fileno=fd)
if handoff:
    sock = servers.Handoff(sock, address)
app = entry.asgi_application if interface == "asgi" else entry.application
stop = servers.IN_PROCESS[server](sock, app, threads, backlog, interface=interface)
ready.put(("web", index))
control.get()
stop()
"""

TASKS = """
import sys
sys.path[:0] = paths
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djsample.settings")
import django
django.setup()
from bench.backends.interpreters import run_worker

ready.put(("tasks", index))
run_worker(tasks_queue)
"""

# A task subinterpreter of the database backend: django-tasks-db's worker loop on this
# interpreter's thread, and a watcher thread that stops it when the launcher says so (None on
# `control`); the loop then ends after the task in hand, or within a poll interval.
TASKS_DATABASE = """
import sys
sys.path[:0] = paths
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djsample.settings")
import django
django.setup()
import threading
from bench.backends import dbworker

worker = dbworker.make_worker()


def watch():
    control.get()
    worker.running = False


watcher = threading.Thread(target=watch)
watcher.start()
ready.put(("tasks", index))
try:
    dbworker.run(worker)
finally:
    # Ends the watcher if the loop ended by itself (an error): the interpreter waits for it.
    control.put(None)
    watcher.join()
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default="127.0.0.1:8000")
    parser.add_argument("--web", type=int, default=2, help="web subinterpreters")
    parser.add_argument("--tasks", type=int, default=2, help="task subinterpreters")
    parser.add_argument("--threads", type=int, default=4, help="threads per web subinterpreter")
    parser.add_argument(
        "--server", default="cheroot", choices=["cheroot", "wsgiref", "hypercorn", "uvicorn"]
    )
    parser.add_argument(
        "--interface",
        default="wsgi",
        choices=["wsgi", "asgi"],
        help="wsgi (cheroot, wsgiref, hypercorn) or asgi (hypercorn, uvicorn): serve.entry's "
        "application or asgi_application",
    )
    parser.add_argument("--backlog", type=int, default=1024, help="listen backlog")
    parser.add_argument(
        "--task-backend",
        default="memory",
        choices=["memory", "database"],
        help="memory: a queue between subinterpreters (default); database: django-tasks-db",
    )
    args = parser.parse_args()
    servers.check_interface(parser, args.server, args.interface)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djsample.settings")
    if args.interface == "asgi":
        # Stock Django cannot serve ASGI here: at the end of every request asgiref joins the
        # request's thread from a daemon thread, which an isolated subinterpreter refuses
        # ("daemon threads are disabled in this (sub)interpreter"). serve.asgithreads gives
        # the sync code --threads threads per subinterpreter instead (read by serve.entry in
        # each web subinterpreter: they see the environment as it is when they start).
        os.environ["DJBENCH_ASGI_THREADS"] = str(args.threads)
    if args.tasks:
        # 0: web only (a project that does not use django.tasks, or brings its own backend).
        os.environ["DJBENCH_TASKS"] = (
            "database" if args.task_backend == "database" else "interpreters"
        )
    os.environ.setdefault("DJBENCH_SERVER", args.server)
    host, port = args.bind.rsplit(":", 1)
    listener = servers.listen(host, port, args.backlog)
    # hypercorn builds its own socket from a descriptor, and uvicorn's asyncio accepts on the
    # socket itself: neither can take a hand-off.
    handoff = args.server not in ("hypercorn", "uvicorn")
    outs, ins = servers.channels(args.web) if handoff else ([], [])

    paths = tuple([str(PROJECT)] + sys.path)
    tasks_queue = interpreters.create_queue()
    ready = interpreters.create_queue()
    runners = []
    controls = []
    task_controls = []

    def start(code, **names):
        interp = interpreters.create()
        interp.prepare_main(paths=paths, tasks_queue=tasks_queue, ready=ready, **names)
        thread = threading.Thread(target=interp.exec, args=(code,), name=f"{names}")
        thread.start()
        runners.append((interp, thread))

    for i in range(args.tasks):
        if args.task_backend == "database":
            control = interpreters.create_queue()
            task_controls.append(control)
            start(TASKS_DATABASE, index=i, control=control)
        else:
            start(TASKS, index=i)
    for i in range(args.web):
        control = interpreters.create_queue()
        controls.append(control)
        start(
            WEB,
            index=i,
            fd=ins[i].detach() if handoff else os.dup(listener.fileno()),
            handoff=handoff,
            address=listener.getsockname()[:2],
            server=args.server,
            interface=args.interface,
            threads=args.threads,
            backlog=args.backlog,
            control=control,
        )

    for _ in range(args.web + args.tasks):
        while True:
            try:
                ready.get(timeout=0.5)
                break
            except interpreters.QueueEmpty:
                if not all(thread.is_alive() for _, thread in runners):
                    print("djbench subinterpreters: a subinterpreter failed to start",
                          file=sys.stderr, flush=True)
                    os._exit(1)
    if handoff:
        servers.start_dispatch(listener, outs)
    print(
        f"djbench subinterpreters: serving on {args.bind} from {args.web} web and "
        f"{args.tasks} task subinterpreters ({args.server} {args.interface}, "
        f"{args.task_backend} tasks)",
        flush=True,
    )

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    while not stopping.wait(0.5):
        if not all(thread.is_alive() for _, thread in runners):
            print("djbench subinterpreters: a subinterpreter died", file=sys.stderr, flush=True)
            os._exit(1)

    # A worker stuck in a request must not keep the process alive: djbench's teardown
    # expects it gone within its grace period.
    threading.Timer(8, lambda: os._exit(1)).start()
    # No new connections from here on; this also ends the dispatcher's accept(). Servers that
    # accept on a dup of the listener themselves (hypercorn, uvicorn) close it as they stop:
    # shut down under them, their event loops would report EINVAL from accept() until then.
    if handoff:
        try:
            listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    for control in controls:
        control.put(None)
    for _ in range(args.tasks):
        tasks_queue.put(None)
    for control in task_controls:
        control.put(None)
    for interp, thread in runners:
        thread.join()
        interp.close()
    listener.close()
    os._exit(0)


if __name__ == "__main__":
    main()
