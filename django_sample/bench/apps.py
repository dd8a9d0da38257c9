import importlib
import os

from django.apps import AppConfig


class BenchConfig(AppConfig):
    name = "bench"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Modules a deployment asks for on top of the app (DJBENCH_PRELOAD=a,b), as a real app
        # imports its libraries; djbench's test uses it to load a module that turns the GIL on.
        for name in filter(None, os.environ.get("DJBENCH_PRELOAD", "").split(",")):
            importlib.import_module(name.strip())
