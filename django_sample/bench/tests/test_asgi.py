"""ASGI serving (a scenario's `interface: asgi`): serve.entry's asgi_application, what
/_djbench/env says of the interface a request came through, serve.asgithreads (the W threads
free_threaded gives Django's sync code under ASGI), and the launchers refusing a server that
cannot serve the interface asked for. The servers themselves are started by hand and by
djbench's integration tests, not here."""

import asyncio
import importlib.metadata
import subprocess
import sys
import threading
from pathlib import Path
from unittest import mock, skipUnless

from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application
from django.core.handlers.asgi import ASGIHandler
from django.test import SimpleTestCase, TransactionTestCase

from bench.tests.test_views import SeededTestCase
from serve import servers
from serve.asgithreads import SyncThreads

PROJECT = Path(__file__).resolve().parent.parent.parent


def scope(path, query=b""):
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }


async def get(app, path, query=b""):
    """One GET through an ASGI app, as a server makes it: (status, headers, body)."""
    comm = ApplicationCommunicator(app, scope(path, query))
    await comm.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await comm.receive_output(10)
    body = b""
    while True:
        message = await comm.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await comm.wait(10)
    return start["status"], dict(start["headers"]), body


class InterfaceTests(SeededTestCase):
    def test_env_says_wsgi_through_the_wsgi_handler(self):
        self.assertEqual(self.client.get("/_djbench/env").json()["interface"], "wsgi")

    async def test_env_says_asgi_through_the_asgi_handler(self):
        response = await self.async_client.get("/_djbench/env")
        self.assertEqual(response.json()["interface"], "asgi")

    def test_env_names_uvicorns_version(self):
        with mock.patch.dict("os.environ", {"DJBENCH_SERVER": "uvicorn"}):
            env = self.client.get("/_djbench/env").json()
        self.assertEqual(env["server_version"], importlib.metadata.version("uvicorn"))


class EntryTests(TransactionTestCase):
    def test_entry_serves_both_interfaces(self):
        from serve import entry

        self.assertTrue(callable(entry.application))
        # Stock Django, unless a launcher asks for its threads (DJBENCH_ASGI_THREADS).
        self.assertIsInstance(entry.asgi_application, ASGIHandler)

    async def test_the_asgi_application_answers_over_asgi(self):
        from serve import entry

        status, headers, body = await get(entry.asgi_application, "/_djbench/env")
        self.assertEqual(status, 200)
        self.assertIn(b'"interface": "asgi"', body)
        self.assertIn(b"x-djbench-worker", {k.lower() for k in headers})


def native_ids(executor):
    return {t.native_id for t in executor._threads}


class SyncThreadsTests(TransactionTestCase):
    """serve.asgithreads under concurrent requests: sync code on at most W threads, each
    request's on one of them, thread_sensitive=False work in a pool of W."""

    async def test_sync_views_run_on_the_w_threads(self):
        app = SyncThreads(get_asgi_application(), 2)
        results = await asyncio.gather(*[get(app, "/_djbench/env") for _ in range(8)])
        self.assertEqual({status for status, _, _ in results}, {200})
        import json

        served = {json.loads(body)["thread_id"] for _, _, body in results}
        ours = set().union(*(native_ids(e) for e in app.executors))
        self.assertTrue(served <= ours, (served, ours))
        self.assertLessEqual(len(ours), 2)
        # Every request is done: none is still counted in flight.
        self.assertEqual(app.in_flight, [0, 0])

    async def test_thread_sensitive_false_runs_in_the_pool_of_w(self):
        app = SyncThreads(get_asgi_application(), 3)
        seen = []
        real = __import__("bench.work", fromlist=["spin"]).spin

        def spin(n):
            seen.append(threading.current_thread().name)
            return real(n)

        with mock.patch("bench.async_views.spin", spin):
            for flag, prefix in [(b"0", "djbench-pool"), (b"1", "djbench-sync-")]:
                status, _, _ = await get(
                    app, "/async/cpu", b"n=100&thread_sensitive=" + flag
                )
                self.assertEqual(status, 200)
                self.assertTrue(seen[-1].startswith(prefix), seen)
        self.assertLessEqual(app.default._max_workers, 3)

    async def test_no_daemon_thread_per_request_as_subinterpreters_require(self):
        """An isolated subinterpreter refuses daemon threads; stock Django under ASGI starts
        one at the end of every request (asgiref joining the request's executor). Through
        SyncThreads it starts none."""

        class NoDaemonThread(threading.Thread):
            def __init__(self, *args, daemon=None, **kwargs):
                if daemon:
                    raise RuntimeError("daemon threads are disabled in this (sub)interpreter")
                super().__init__(*args, daemon=daemon, **kwargs)

        stock = get_asgi_application()
        wrapped = SyncThreads(get_asgi_application(), 2)
        with mock.patch("threading.Thread", NoDaemonThread):
            status, _, _ = await get(wrapped, "/hello")
            self.assertEqual(status, 200)
            with self.assertRaisesRegex(RuntimeError, "daemon threads are disabled"):
                await get(stock, "/hello")

    def test_at_least_one_thread(self):
        with self.assertRaises(ValueError):
            SyncThreads(get_asgi_application(), 0)


class LauncherInterfaceTests(SimpleTestCase):
    """A server that cannot serve the interface asked for is refused with argparse's exit 2,
    before anything loads."""

    def run_launcher(self, script, *args):
        return subprocess.run(
            [sys.executable, str(PROJECT / "serve" / script), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    def test_free_threaded_refuses_a_wsgi_only_server_under_asgi(self):
        for server in ["cheroot", "waitress", "gunicorn_gthread"]:
            with self.subTest(server=server):
                done = self.run_launcher("free_threaded.py", "--server", server,
                                         "--interface", "asgi")
                self.assertEqual(done.returncode, 2, done.stderr)
                self.assertIn(f"--server {server} cannot serve --interface asgi", done.stderr)

    def test_free_threaded_refuses_uvicorn_under_wsgi(self):
        done = self.run_launcher("free_threaded.py", "--server", "uvicorn")
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn("--server uvicorn cannot serve --interface wsgi", done.stderr)

    @skipUnless(sys.version_info >= (3, 14), "concurrent.interpreters is 3.14's")
    def test_subinterpreters_refuses_a_wsgi_only_server_under_asgi(self):
        done = self.run_launcher("subinterpreters.py", "--server", "cheroot",
                                 "--interface", "asgi")
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn("--server cheroot cannot serve --interface asgi", done.stderr)

    def test_every_in_process_server_names_its_interfaces(self):
        self.assertEqual(set(servers.INTERFACES), set(servers.IN_PROCESS))
