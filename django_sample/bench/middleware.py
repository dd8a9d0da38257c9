"""Names the web worker that served each response, so the load generator can count each
worker's share of the requests and djbench can warn when one idles while another queues."""

import os
import threading

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


def worker_header(get_response):
    def middleware(request):
        response = get_response(request)
        response[HEADER] = worker_id()
        return response

    return middleware
