"""WSGI and ASGI servers that run inside a process djbench launched (the subinterpreters,
prefork and free_threaded launchers), each serving on a socket it is handed, each stoppable
from another thread (INTERFACES: which server serves which interface); and the hand-off that
spreads connections across a launcher's web workers. gunicorn and granian are run by their own
command lines instead.

Why a hand-off: web workers that each accept from one shared socket race for every
connection, and a client that keeps its connections alive stays with whichever worker won
its accepts. Measured (shared/ and the closing note of the fair-comparison issue): 1 run in
8 of 2 subinterpreters under 8 keep-alive connections ran on one interpreter at 0.6x the
throughput. Per-worker SO_REUSEPORT sockets hash connections at random instead: with 8
connections and 2 workers, 29% of runs would give one worker 6 or more. So one thread of the
launcher accepts, and hands each connection to the next worker in turn (SCM_RIGHTS over a
Unix socket pair), which receives it through `Handoff`: 8 connections are 4 and 4, always.
"""

import itertools
import socket
import socketserver
import threading


def listen(host, port, backlog):
    """The listening socket of a launcher, with the backlog djbench asked for. TCP_NODELAY is
    set here because accepted connections inherit it: without it small responses wait for
    delayed ACKs (40 ms a request)."""
    sock = socket.create_server((host, int(port)), backlog=backlog)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def channels(workers):
    """A Unix socket pair per worker: the launcher keeps the first ends (to hand
    connections out), each worker gets the second end of its own."""
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(workers)]
    return [a for a, _ in pairs], [b for _, b in pairs]


def dispatch(listener, outs):
    """Accepts on `listener` and hands each connection to the next worker in turn, until the
    listener is shut down. Runs in a thread of the launcher."""
    for out in itertools.cycle(outs):
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            try:
                socket.send_fds(out, [b"c"], [conn.fileno()])
            except OSError:
                # That worker is gone; its supervisor notices. Keep serving the others.
                continue


def start_dispatch(listener, outs):
    thread = threading.Thread(target=dispatch, args=(listener, outs), name="djbench-dispatch")
    thread.daemon = True
    thread.start()
    return thread


class Handoff:
    """What a worker's server takes for its listening socket: `accept()` returns the next
    connection the launcher handed over on this worker's channel. It offers what cheroot and
    socketserver call on a listening socket; hand-written, as no server takes accepted
    connections from outside."""

    def __init__(self, channel, address):
        self.channel = channel
        self.address = address
        self.family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.type = socket.SOCK_STREAM

    def fileno(self):
        return self.channel.fileno()

    def getsockname(self):
        return self.address

    def accept(self):
        _, fds, _, _ = socket.recv_fds(self.channel, 1, 1)
        if not fds:
            # The launcher closed the channel: nothing more will come.
            raise ConnectionAbortedError("the launcher closed this worker's channel")
        conn = socket.socket(fileno=fds[0])
        conn.setblocking(True)
        return conn, conn.getpeername()

    # A listening socket's set-up calls: the launcher's socket already did them.
    def settimeout(self, timeout):
        pass

    def setblocking(self, flag):
        pass

    def listen(self, backlog=0):
        pass

    def setsockopt(self, *args):
        pass

    def close(self):
        self.channel.close()
from wsgiref import simple_server


class _QuietHandler(simple_server.WSGIRequestHandler):
    # An access log line per request would cost more than some views.
    def log_message(self, *args):
        pass


class _WSGIRefServer(simple_server.WSGIServer):
    """wsgiref on an already listening socket."""

    def __init__(self, sock, app):
        socketserver.TCPServer.__init__(
            self, sock.getsockname(), _QuietHandler, bind_and_activate=False
        )
        self.socket.close()
        self.socket = sock
        host, port = sock.getsockname()[:2]
        self.server_name = socket.getfqdn(host)
        self.server_port = port
        self.setup_environ()
        self.set_app(app)


def wsgiref(sock, app, threads, backlog, interface="wsgi"):
    """The stdlib's reference server: one request at a time (`threads` does not apply)."""
    server = _WSGIRefServer(sock, app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    thread.start()

    def stop():
        server.shutdown()
        thread.join()
        server.server_close()

    return stop


def cheroot(sock, app, threads, backlog, interface="wsgi"):
    """CherryPy's production WSGI server: a fixed pool of worker threads."""
    from cheroot import wsgi

    class SharedSocketServer(wsgi.Server):
        # prepare() would bind a socket of its own; hand it the shared one instead.
        def bind(self, family, type, proto=0):
            self.socket = sock
            self.bind_addr = sock.getsockname()[:2]
            return sock

    # prepare() listens again with request_queue_size, 5 unless told: the backlog asked for.
    server = SharedSocketServer(
        sock.getsockname()[:2], app, numthreads=threads, request_queue_size=backlog
    )
    server.prepare()
    thread = threading.Thread(target=server.serve)
    thread.start()

    def stop():
        server.stop()
        thread.join()

    return stop


def waitress(sock, app, threads, backlog, interface="wsgi"):
    """Pylons' production WSGI server (not in subinterpreters: its task threads are daemons)."""
    import waitress.server

    server = waitress.server.create_server(app, sockets=[sock], threads=threads, backlog=backlog)
    thread = threading.Thread(target=server.run)
    thread.start()

    def stop():
        server.task_dispatcher.shutdown()
        server.close()
        thread.join(timeout=5)

    return stop


def hypercorn(sock, app, threads, backlog, interface="wsgi"):
    """An asyncio server (HTTP/1.1 and HTTP/2): a WSGI app runs in its thread pool (the loop's
    default executor), an ASGI app on its loop."""
    import asyncio

    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    # hypercorn makes its own socket object from the descriptor: hand the descriptor over,
    # or this one would close it when collected.
    config.bind = [f"fd://{sock.detach()}"]
    config.backlog = backlog
    config.accesslog = None
    config.errorlog = None
    loop = asyncio.new_event_loop()
    stopping = asyncio.Event()

    def run():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(
            serve(app, config, shutdown_trigger=stopping.wait, mode=interface)
        )

    thread = threading.Thread(target=run)
    thread.start()

    def stop():
        loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout=5)

    return stop


def uvicorn(sock, app, threads, backlog, interface="asgi"):
    """uvicorn (asyncio, h11) serving an ASGI app on its loop, in a thread of its own; Django's
    sync code runs in asgiref's threads (serve.asgithreads). On the socket it is given (a
    shared listening socket: it cannot take a hand-off, asyncio accepts by itself). No
    lifespan: Django refuses it."""
    import asyncio

    import uvicorn as uv

    config = uv.Config(
        app,
        interface="asgi3",
        lifespan="off",
        access_log=False,
        log_level="warning",
        backlog=backlog,
        # Python's asyncio and h11, whatever else is installed: what runs is what was pinned.
        loop="asyncio",
        http="h11",
        ws="none",
        # Within the launchers' 8 s before they give up on a clean stop.
        timeout_graceful_shutdown=3,
    )
    server = uv.Server(config)

    def run():
        # In a thread, uvicorn installs no signal handlers: the launcher keeps SIGTERM.
        asyncio.run(server.serve(sockets=[sock]))

    thread = threading.Thread(target=run, name="djbench-uvicorn")
    thread.start()

    def stop():
        server.should_exit = True
        thread.join(timeout=5)

    return stop


IN_PROCESS = {
    "wsgiref": wsgiref,
    "cheroot": cheroot,
    "waitress": waitress,
    "hypercorn": hypercorn,
    "uvicorn": uvicorn,
}

# The interfaces each in-process server serves. A launcher refuses any other pair (exit 2).
INTERFACES = {
    "wsgiref": {"wsgi"},
    "cheroot": {"wsgi"},
    "waitress": {"wsgi"},
    "hypercorn": {"wsgi", "asgi"},
    "uvicorn": {"asgi"},
}


def check_interface(parser, server, interface):
    """Exits with status 2 (argparse's) naming the flags when `server` cannot serve
    `interface`."""
    supported = INTERFACES.get(server)
    if supported is not None and interface not in supported:
        parser.error(
            f"--server {server} cannot serve --interface {interface} "
            f"(it serves {', '.join(sorted(supported))})"
        )
