"""Guards the free_threaded mode: a free-threaded interpreter silently turns the GIL back on
when it imports an extension module that has not declared it can run without it. A benchmark
of "no GIL" with the GIL on would be a lie, so the launcher refuses to serve, naming the
module."""

import os
import re
import sys
import warnings

_CULPRITS = []
_PATTERN = re.compile(r"GIL\)? has been enabled to load module '([^']+)'")
_previous_showwarning = None


def watch():
    """Records the modules that re-enable the GIL from now on (CPython warns when it happens)."""
    global _previous_showwarning
    if _previous_showwarning is not None:
        return
    _previous_showwarning = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        found = _PATTERN.search(str(message))
        if found:
            _CULPRITS.append(found.group(1))
        _previous_showwarning(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning
    warnings.simplefilter("always", RuntimeWarning)


def gil_enabled():
    return getattr(sys, "_is_gil_enabled", lambda: True)()


def culprits():
    return list(_CULPRITS)


def require_if_asked():
    """With DJBENCH_REQUIRE_NO_GIL=1, exits with status 3 if the GIL is on, naming why."""
    if os.environ.get("DJBENCH_REQUIRE_NO_GIL") != "1" or not gil_enabled():
        return
    if _CULPRITS:
        why = "module " + ", ".join(repr(m) for m in _CULPRITS) + " turned the GIL back on"
    elif not getattr(sys, "_is_gil_enabled", None) or not _free_threaded_build():
        why = "this interpreter is not a free-threaded build"
    else:
        why = "the GIL is on (PYTHON_GIL=1 set, or a module loaded before djbench could watch)"
    sys.stderr.write(f"djbench: refusing to serve free_threaded with the GIL on: {why}\n")
    sys.stderr.flush()
    os._exit(3)


def _free_threaded_build():
    import sysconfig

    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
