"""Names the web worker that served each response, so the load generator can count each
worker's share of the requests and djbench can warn when one idles while another queues."""

import os
import threading

from asgiref.sync import iscoroutinefunction
from django.utils.decorators import sync_and_async_middleware

HEADER = "X-Djbench-Worker"


def _interpreter_id():
    # Read once per interpreter: concurrent.interpreters.get_current() raced under many
    # threads on a free-threaded 3.14 (shared/ENVIRONMENT.md), and the id never changes.
    try:
        from concurrent import interpreters

        return interpreters.get_current().id
    except ImportError:
        return 0


INTERPRETER_ID = _interpreter_id()


def worker_id():
    """`pid.interpreter.thread`: the process, the subinterpreter (0 for the main one) and the
    kernel's thread id. djbench groups by what a web worker is in the mode: a process
    (gunicorn_celery), a subinterpreter (subinterpreters) or a thread (free_threaded)."""
    return f"{os.getpid()}.{INTERPRETER_ID}.{threading.get_native_id()}"


@sync_and_async_middleware
def worker_header(get_response):
    """Both sync and async, as Django's docs write such middleware: under WSGI Django hands it
    a sync get_response and it is the plain function it always was; under an async stack
    (ASGI, the tests' AsyncClient) it awaits, so it forces no switch between sync and async
    around an async view. The header then names the event loop's thread."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            response = await get_response(request)
            response[HEADER] = worker_id()
            return response

    else:

        def middleware(request):
            response = get_response(request)
            response[HEADER] = worker_id()
            return response

    return middleware
