"""WSGI entry point for every server in every mode."""

import os

from bench import freethreading

# Before Django imports anything, so the module that turns the GIL back on is named.
freethreading.watch()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djsample.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()


def _start_task_workers():
    """Backends that run tasks in the serving process start their workers now, not on the
    first enqueue, so djbench sees them ready before load arrives."""
    from django.tasks import task_backends

    start = getattr(task_backends["default"], "start", None)
    if start is not None:
        start()


_start_task_workers()
freethreading.require_if_asked()
