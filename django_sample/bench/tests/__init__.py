from asgiref.local import Local
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.tasks import task_backends


@receiver(setting_changed)
def _reset_task_backends(setting, **kwargs):
    """Django 6.1 does not drop its cached task backends when TASKS is overridden in a test
    (it does for CACHES and DATABASES); do it here so override_settings(TASKS=...) works."""
    if setting == "TASKS":
        task_backends.__dict__.pop("settings", None)
        task_backends._connections = Local(task_backends.thread_critical)
