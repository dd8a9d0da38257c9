"""WSGI servers that run inside a process djbench launched (the subinterpreters and
free_threaded launchers), each serving on a socket it is handed, each stoppable from another
thread. gunicorn and granian are run by their own command lines instead."""

import socket
import socketserver
import threading


def listen(host, port):
    """The listening socket every server of a launcher shares. TCP_NODELAY is set here
    because accepted connections inherit it: without it small responses wait for delayed
    ACKs (40 ms a request)."""
    sock = socket.create_server((host, int(port)), backlog=1024)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
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


def wsgiref(sock, app, threads):
    """The stdlib's reference server: one request at a time (`threads` does not apply)."""
    server = _WSGIRefServer(sock, app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    thread.start()

    def stop():
        server.shutdown()
        thread.join()
        server.server_close()

    return stop


def cheroot(sock, app, threads):
    """CherryPy's production WSGI server: a fixed pool of worker threads."""
    from cheroot import wsgi

    class SharedSocketServer(wsgi.Server):
        # prepare() would bind a socket of its own; hand it the shared one instead.
        def bind(self, family, type, proto=0):
            self.socket = sock
            self.bind_addr = sock.getsockname()[:2]
            return sock

    server = SharedSocketServer(sock.getsockname()[:2], app, numthreads=threads)
    server.prepare()
    thread = threading.Thread(target=server.serve)
    thread.start()

    def stop():
        server.stop()
        thread.join()

    return stop


def waitress(sock, app, threads):
    """Pylons' production WSGI server (not in subinterpreters: its task threads are daemons)."""
    import waitress.server

    server = waitress.server.create_server(app, sockets=[sock], threads=threads)
    thread = threading.Thread(target=server.run)
    thread.start()

    def stop():
        server.task_dispatcher.shutdown()
        server.close()
        thread.join(timeout=5)

    return stop


def hypercorn(sock, app, threads):
    """An asyncio server (HTTP/1.1 and HTTP/2) running the WSGI app in its thread pool."""
    import asyncio

    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    # hypercorn makes its own socket object from the descriptor: hand the descriptor over,
    # or this one would close it when collected.
    config.bind = [f"fd://{sock.detach()}"]
    config.accesslog = None
    config.errorlog = None
    loop = asyncio.new_event_loop()
    stopping = asyncio.Event()

    def run():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve(app, config, shutdown_trigger=stopping.wait, mode="wsgi"))

    thread = threading.Thread(target=run)
    thread.start()

    def stop():
        loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout=5)

    return stop


IN_PROCESS = {
    "wsgiref": wsgiref,
    "cheroot": cheroot,
    "waitress": waitress,
    "hypercorn": hypercorn,
}
