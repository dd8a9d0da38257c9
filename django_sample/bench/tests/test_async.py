"""The async views (bench/async_views.py) through every way Django runs them: the AsyncClient
(an async handler, as under ASGI), the sync Client and Django's WSGI handler (async views
wrapped in async_to_sync, as under every launcher djbench has), and a real WSGI server on a
socket. Also: that the CPU work is pure Python, and that the middleware is async-capable."""

import json
import threading
import urllib.error
import urllib.request
from unittest import mock
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_started
from django.db import close_old_connections
from django.test import RequestFactory, SimpleTestCase, TransactionTestCase

from bench import async_views, middleware, work
from bench.tests.test_views import SeededTestCase
from bench.work import spin

# Bad input of each async view, with the 400's message: the same bounds and words as the sync
# twin's (and each sync twin's answer is checked to be the same below).
BAD = {
    "/async/cpu?n=x": b"n must be 0..50000000",
    "/async/cpu?n=-1": b"n must be 0..50000000",
    "/async/cpu?n=50000001": b"n must be 0..50000000",
    "/async/cpu?n=10&thread_sensitive=2": b"thread_sensitive must be 0 or 1",
    "/async/cpu?n=10&thread_sensitive=yes": b"thread_sensitive must be 0 or 1",
    "/async/cpu?n=10&thread_sensitive=": b"thread_sensitive must be 0 or 1",
    "/async/io?ms=x": b"ms must be 0..60000",
    "/async/io?ms=-1": b"ms must be 0..60000",
    "/async/io?ms=60001": b"ms must be 0..60000",
}


class RecordThread:
    """Stands in for spin in bench.async_views: does the same work and notes the thread."""

    def __init__(self):
        self.threads = []

    def __call__(self, n):
        self.threads.append(threading.get_ident())
        return spin(n)


class AsyncClientTests(SeededTestCase):
    """An async request stack, as under ASGI."""

    def setUp(self):
        # setUp runs in the test's own thread; an async test runs its coroutine in an event
        # loop on another thread, and sync_to_async(thread_sensitive=True) comes back here.
        self.test_thread = threading.get_ident()

    async def test_io_waits_and_answers_like_io(self):
        response = await self.async_client.get("/async/io?ms=1")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"ms": 1})
        self.assertEqual((await self.async_client.get("/async/io")).json(), {"ms": 10})

    async def test_db_answers_what_db_answers(self):
        response = await self.async_client.get("/async/db")
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(len(body["top"]), 20)
        ratings = [row["rating"] for row in body["top"]]
        self.assertEqual(ratings, sorted(ratings, reverse=True))
        self.assertTrue(body["countries"])
        sync_body = (await sync_to_async(self.client.get)("/db")).json()
        self.assertEqual(body, sync_body)

    async def test_cpu_does_the_work_both_ways(self):
        for flag, expected in [("0", False), ("1", True)]:
            with self.subTest(thread_sensitive=flag):
                response = await self.async_client.get(f"/async/cpu?n=1000&thread_sensitive={flag}")
                self.assertEqual(response.status_code, 200)
                self.assertEqual(
                    response.json(), {"n": 1000, "result": 729977, "thread_sensitive": expected}
                )
        default = (await self.async_client.get("/async/cpu?n=1000")).json()
        self.assertEqual(default, {"n": 1000, "result": 729977, "thread_sensitive": True})

    async def test_thread_sensitive_picks_the_thread(self):
        loop_thread = threading.get_ident()
        for flag in ["1", "0"]:
            recorder = RecordThread()
            with mock.patch.object(async_views, "spin", recorder):
                await self.async_client.get(f"/async/cpu?n=10&thread_sensitive={flag}")
            (ran_on,) = recorder.threads
            with self.subTest(thread_sensitive=flag):
                self.assertNotEqual(ran_on, loop_thread, "CPU work ran on the event loop")
                if flag == "1":
                    # The one thread kept for sync code: here, the one the loop was started from.
                    self.assertEqual(ran_on, self.test_thread)
                else:
                    self.assertNotEqual(ran_on, self.test_thread)

    async def test_bad_parameters_are_400_with_the_sync_views_words(self):
        for path, message in BAD.items():
            with self.subTest(path=path):
                response = await self.async_client.get(path)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.content, message)

    async def test_responses_name_their_worker(self):
        response = await self.async_client.get("/async/io?ms=0")
        self.assertRegex(response["X-Djbench-Worker"], r"^\d+\.\d+\.\d+$")


class SyncClientTests(SeededTestCase):
    """The sync handler: Django wraps each async view in async_to_sync, as under WSGI."""

    def test_each_endpoint_answers_like_its_sync_twin(self):
        self.assertEqual(self.client.get("/async/io?ms=1").json(), {"ms": 1})
        self.assertEqual(self.client.get("/async/db").json(), self.client.get("/db").json())
        for flag, expected in [("0", False), ("1", True)]:
            with self.subTest(thread_sensitive=flag):
                response = self.client.get(f"/async/cpu?n=1000&thread_sensitive={flag}")
                self.assertEqual(response.status_code, 200)
                self.assertEqual(
                    response.json(),
                    {"n": 1000, "result": spin(1000), "thread_sensitive": expected},
                )
        self.assertEqual(self.client.get("/cpu?n=1000").json(), {"n": 1000, "result": 729977})

    def test_thread_sensitive_picks_the_thread(self):
        # Under WSGI the request's own thread waits in async_to_sync; thread-sensitive code
        # runs back on it, the rest in the one-off loop's executor.
        request_thread = threading.get_ident()
        for flag, same in [("1", True), ("0", False)]:
            recorder = RecordThread()
            with mock.patch.object(async_views, "spin", recorder):
                self.assertEqual(
                    self.client.get(f"/async/cpu?n=10&thread_sensitive={flag}").status_code, 200
                )
            with self.subTest(thread_sensitive=flag):
                self.assertEqual(recorder.threads[0] == request_thread, same)

    def test_bad_parameters_are_400_with_the_sync_views_words(self):
        for path, message in BAD.items():
            with self.subTest(path=path):
                response = self.client.get(path)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.content, message)
                sync_path = path.replace("/async", "")
                if "thread_sensitive" not in path:
                    self.assertEqual(self.client.get(sync_path).content, message, sync_path)


class WSGIHandlerTests(SeededTestCase):
    """Django's WSGI application itself (what djsample.wsgi serves), called as a WSGI server
    calls it."""

    def call(self, path):
        environ = RequestFactory().get(path).environ
        status = []
        # As the test Client does: request_started would otherwise close the test's connection
        # inside its transaction.
        request_started.disconnect(close_old_connections)
        try:
            body = b"".join(WSGIHandler()(environ, lambda s, h: status.append(s)))
        finally:
            request_started.connect(close_old_connections)
        return status[0], body

    def test_async_views_run_under_wsgi(self):
        status, body = self.call("/async/io?ms=1")
        self.assertEqual((status, json.loads(body)), ("200 OK", {"ms": 1}))
        status, body = self.call("/async/db")
        self.assertEqual(status, "200 OK")
        self.assertEqual(len(json.loads(body)["top"]), 20)
        for flag, expected in [("0", False), ("1", True)]:
            status, body = self.call(f"/async/cpu?n=1000&thread_sensitive={flag}")
            self.assertEqual(
                json.loads(body), {"n": 1000, "result": 729977, "thread_sensitive": expected}
            )
        self.assertEqual(self.call("/async/cpu?n=x")[0], "400 Bad Request")


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class RealWSGIServerTests(TransactionTestCase):
    """A real WSGI server (wsgiref) on a loopback socket, serving from its own thread with its
    own database connection, like a launcher's worker."""

    def setUp(self):
        call_command("seed", stdout=open("/dev/null", "w"))
        from djsample.wsgi import application

        self.server = make_server(
            "127.0.0.1", 0, application, server_class=WSGIServer, handler_class=_QuietHandler
        )
        self.thread = threading.Thread(target=self.server.serve_forever)
        self.thread.start()

    def tearDown(self):
        self.server.shutdown()
        self.thread.join()
        self.server.server_close()

    def get(self, path):
        url = f"http://127.0.0.1:{self.server.server_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def test_every_async_endpoint_over_http(self):
        self.assertEqual(self.get("/async/io?ms=1"), (200, b'{"ms": 1}'))
        status, body = self.get("/async/db")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), json.loads(self.get("/db")[1]))
        self.assertEqual(len(json.loads(body)["top"]), 20)
        for flag, expected in [("0", False), ("1", True)]:
            status, body = self.get(f"/async/cpu?n=1000&thread_sensitive={flag}")
            self.assertEqual(status, 200)
            self.assertEqual(
                json.loads(body), {"n": 1000, "result": 729977, "thread_sensitive": expected}
            )
        self.assertEqual(self.get("/async/cpu?thread_sensitive=2"),
                         (400, b"thread_sensitive must be 0 or 1"))


class PureCpuTests(SimpleTestCase):
    def test_spin_is_bytecode_over_builtins_only(self):
        # The only name spin looks up is range: no module (hashlib, zlib …) whose C code could
        # release the GIL while it works.
        self.assertEqual(work.spin.__code__.co_names, ("range",))
        self.assertEqual(spin(1000), 729977)


class MiddlewareTests(SimpleTestCase):
    def test_worker_header_is_sync_and_async(self):
        self.assertTrue(middleware.worker_header.sync_capable)
        self.assertTrue(middleware.worker_header.async_capable)

        async def get_response(request):
            from django.http import HttpResponse

            return HttpResponse()

        self.assertTrue(iscoroutinefunction(middleware.worker_header(get_response)))
        self.assertFalse(iscoroutinefunction(middleware.worker_header(lambda r: None)))

    def test_no_middleware_forces_a_switch_between_sync_and_async(self):
        # Django logs (at DEBUG, with DEBUG on) each middleware it has to adapt. None, either
        # way: under WSGI the only switch is async_to_sync around an async view; under an async
        # stack the only one is sync_to_async around a sync view.
        for is_async in [False, True]:
            with self.subTest(is_async=is_async), self.settings(DEBUG=True):
                with self.assertNoLogs("django.request", "DEBUG"):
                    BaseHandler().load_middleware(is_async=is_async)
