"""The threads an ASGI server gives Django's sync code, when a launcher asks for a number of
them (DJBENCH_ASGI_THREADS=W, set by serve/free_threaded.py and serve/subinterpreters.py): an
ASGI wrapper around the project's ASGI application. It owns nothing else; the app and the
server are untouched.

Why: under ASGI Django runs every sync view, sync middleware and ORM call of a request through
asgiref's `sync_to_async(thread_sensitive=True)`, inside a `ThreadSensitiveContext` per
request, and asgiref gives each such context a new one-thread executor: one new thread per
request in flight, however many there are. asgiref has no setting for it (ASGI_THREADS is
gone since asgiref 3.3). `thread_sensitive=False` calls go to the event loop's default
executor instead, min(32, CPUs + 4) threads. So a free_threaded deployment's `--threads W`
would mean nothing under ASGI. With this wrapper it means what it means under WSGI: W Python
threads run sync code.

- Each request is given one of W one-thread executors (the one with the fewest requests in
  flight) through asgiref's own `ThreadSensitiveContext(executor=…)`; Django's per-request
  context inside it then reuses that one. A request's sync code still runs on one thread, as
  thread_sensitive promises; requests given the same thread take turns on it.
- The event loop's default executor becomes W threads, for `thread_sensitive=False` work.
- Async code (an async view's awaits) is not limited: it runs on the loop.

It also keeps Django's ASGI handler working in an isolated subinterpreter (subinterpreters
sets DJBENCH_ASGI_THREADS to its --threads): at the end of each request asgiref joins the
request's executor from a new daemon thread, which subinterpreters refuse ("daemon threads are
disabled in this (sub)interpreter", after the response, at every request). A context given
its executor does not: the executor is the caller's and outlives the request.

Without DJBENCH_ASGI_THREADS (gunicorn_celery) Django runs as it does stock.
"""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext


class SyncThreads:
    def __init__(self, app, threads):
        if threads < 1:
            raise ValueError(f"DJBENCH_ASGI_THREADS must be at least 1, not {threads}")
        self.app = app
        self.threads = threads
        self.executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"djbench-sync-{i}")
            for i in range(threads)
        ]
        self.in_flight = [0] * threads
        self.default = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="djbench-pool")
        # A server may call from more than one thread (a free-threaded build, granian's runtime
        # threads): the counts and the loops seen are guarded.
        self.lock = threading.Lock()
        self.loops = set()

    def _pick(self):
        with self.lock:
            i = min(range(self.threads), key=self.in_flight.__getitem__)
            self.in_flight[i] += 1
            return i

    def _done(self, i):
        with self.lock:
            self.in_flight[i] -= 1

    def _adopt_loop(self):
        loop = asyncio.get_running_loop()
        with self.lock:
            if id(loop) in self.loops:
                return
            self.loops.add(id(loop))
        loop.set_default_executor(self.default)

    async def __call__(self, scope, receive, send):
        self._adopt_loop()
        if scope["type"] != "http":
            # lifespan (Django refuses it; the server says so) and websockets: as they are.
            return await self.app(scope, receive, send)
        i = self._pick()
        try:
            async with ThreadSensitiveContext(executor=self.executors[i]):
                return await self.app(scope, receive, send)
        finally:
            self._done(i)
