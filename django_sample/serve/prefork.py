"""Pre-forked web processes for the gunicorn_celery mode, serving with the same in-process
server the other modes run (cheroot by default), so that a scenario can hold the server fixed
across modes and compare only the concurrency model: processes, subinterpreters or threads.

The parent binds the listening socket, forks W workers, accepts, and hands each connection to
the next worker in turn (servers.dispatch); each worker loads the app after the fork, as
gunicorn does without --preload, and serves the connections it is handed with T threads.
SIGTERM stops the workers, then the parent. A worker that dies takes the whole deployment
down: djbench measures a fixed shape, not a supervisor.

    python serve/prefork.py --bind 127.0.0.1:8000 --workers 2 --threads 1 --server cheroot
"""

import argparse
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
from serve import servers  # noqa: E402


def serve_worker(channel, address, server, threads, backlog):
    """A forked worker: the app, then the server on the connections handed to it."""
    from serve.entry import application

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    stop = servers.IN_PROCESS[server](
        servers.Handoff(channel, address), application, threads, backlog
    )
    # The parent going away (killed) must not leave a worker serving nothing.
    while not stopping.wait(0.5):
        if os.getppid() == 1:
            break
    threading.Timer(5, lambda: os._exit(1)).start()
    stop()
    os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default="127.0.0.1:8000")
    parser.add_argument("--workers", type=int, default=2, help="web processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per web process")
    parser.add_argument("--server", default="cheroot", choices=["cheroot", "wsgiref"])
    parser.add_argument("--backlog", type=int, default=1024, help="listen backlog")
    args = parser.parse_args()

    os.environ.setdefault("DJBENCH_SERVER", args.server)
    host, port = args.bind.rsplit(":", 1)
    listener = servers.listen(host, port, args.backlog)
    address = listener.getsockname()[:2]
    outs, ins = servers.channels(args.workers)

    children = []
    for i in range(args.workers):
        pid = os.fork()
        if pid == 0:
            listener.close()
            for out in outs:
                out.close()
            for j, channel in enumerate(ins):
                if j != i:
                    channel.close()
            try:
                serve_worker(ins[i], address, args.server, args.threads, args.backlog)
            finally:
                os._exit(1)
        children.append(pid)
    for channel in ins:
        channel.close()

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    servers.start_dispatch(listener, outs)
    print(
        f"djbench prefork: serving on {args.bind} from {args.workers} process(es) × "
        f"{args.threads} thread(s) ({args.server})",
        flush=True,
    )
    status = 0
    while not stopping.wait(0.5):
        pid, _ = os.waitpid(-1, os.WNOHANG)
        if pid in children:
            print(f"djbench prefork: worker {pid} died", file=sys.stderr, flush=True)
            status = 1
            break

    try:
        listener.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 8
    for pid in children:
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            time.sleep(0.05)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    os._exit(status)


if __name__ == "__main__":
    main()
