"""djbench check's probe. It runs in a throwaway virtualenv of the project's dependencies and
answers one question per process, as JSON written to the file named by --out:

    probe.py dists --out F NAME...                     what each distribution ships
    probe.py imports --where W --out F MODULE...       do these modules import (W: main,
                                                       subinterpreter)
    probe.py django --where W --out F PROJECT SETTINGS does the project set up
    probe.py requirements --out F PYPROJECT            pyproject.toml's dependencies, a line
                                                       each

One process per question, so a crashing import or a GIL turned on by one distribution cannot
hide another's verdict. It never passes -X gil=0: the GIL's state is what the interpreter
reports, `sys._is_gil_enabled()`, with the RuntimeWarning that names the module that turned
it on. It imports only the standard library at module level, since it is also imported inside
an isolated subinterpreter.
"""

import argparse
import importlib
import importlib.machinery
import importlib.metadata
import json
import os
import re
import sys
import warnings

GIL_WARNING = re.compile(r"GIL\)? has been enabled to load module '([^']+)'")


def gil_enabled():
    return getattr(sys, "_is_gil_enabled", lambda: True)()


def _module_name(path):
    """The dotted module name of an installed file, or None when it is not importable code."""
    parts = path.split("/")
    name = parts[-1]
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if name.endswith(suffix):
            stem = name[: -len(suffix)].split(".")[0]
            break
    else:
        return None
    dirs = parts[:-1]
    # numpy.libs/libopenblas….so and the like are libraries, not modules.
    if not all(p.isidentifier() for p in dirs + [stem]):
        return None
    return ".".join(dirs + [stem])


def dists(names):
    """Per distribution: its version, its top-level import names, its extension modules."""
    top = {}
    for module, owners in importlib.metadata.packages_distributions().items():
        if module.isidentifier() and module != "__pycache__":
            for owner in owners:
                top.setdefault(_canonical(owner), set()).add(module)
    out = {}
    for name in names:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            out[_canonical(name)] = None
            continue
        extensions = sorted(
            {m for m in (_module_name(str(f)) for f in (dist.files or [])) if m}
        )
        out[_canonical(name)] = {
            "name": dist.metadata["Name"],
            "version": dist.version,
            "top_level": sorted(top.get(_canonical(dist.metadata["Name"]), ())),
            "extension_modules": extensions,
        }
    return out


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def try_imports(modules):
    """Imports each module in turn; says which failed and with what, and whether (and by
    which module) the GIL was turned on."""
    started_with_gil = gil_enabled()
    results = []
    culprit = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for module in modules:
            seen = len(caught)
            entry = {"module": module, "already_loaded": module in sys.modules}
            try:
                importlib.import_module(module)
                entry["error"] = None
            except BaseException as e:  # a module may raise anything, SystemExit included
                entry["error"] = _error(e)
            if culprit is None and not started_with_gil and gil_enabled():
                culprit = _culprit(module, caught[seen:])
            results.append(entry)
    return {"imports": results, "gil_enabled": gil_enabled(), "gil_turned_on": culprit}


def _error(e):
    return {"type": type(e).__name__, "message": str(e)}


def _culprit(module, new_warnings):
    for w in new_warnings:
        found = GIL_WARNING.search(str(w.message))
        if found:
            return {"by_import": module, "module": found.group(1), "warning": str(w.message)}
    return {"by_import": module, "module": None, "warning": None}


def django_setup(project, settings):
    """Sets Django up as a deployment would: django.setup(), the URLconf with its views, and
    the WSGI application with its middleware. Says which distributions that imported."""
    sys.path.insert(0, project)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    started_with_gil = gil_enabled()
    result = {"error": None, "traceback": None, "gil_turned_on": None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        step = "django.setup()"
        try:
            import django

            django.setup()
            step = "loading the URLconf and its views"
            from django.urls import get_resolver

            get_resolver().url_patterns
            step = "loading the WSGI application and its middleware"
            from django.core.servers.basehttp import get_internal_wsgi_application

            get_internal_wsgi_application()
        except BaseException as e:
            import traceback

            result["error"] = dict(_error(e), step=step)
            result["traceback"] = "".join(traceback.format_exception(e))[-4000:]
        if not started_with_gil and gil_enabled():
            result["gil_turned_on"] = _culprit("the project", caught)
    result["gil_enabled"] = gil_enabled()
    loaded = {m.split(".")[0] for m in list(sys.modules)}
    owners = importlib.metadata.packages_distributions()
    result["imported_distributions"] = sorted(
        {_canonical(d) for m in loaded for d in owners.get(m, ())}
    )
    return result


def in_subinterpreter(call, out, *args):
    """Runs probe.<call>(*args) in a fresh isolated subinterpreter (its own GIL, as the
    subinterpreters mode makes them), writing the result to `out`."""
    from concurrent import interpreters

    interp = interpreters.create()
    # Strings cross into a subinterpreter as they are; the arguments travel as JSON.
    interp.prepare_main(
        _probe_dir=os.path.dirname(os.path.abspath(__file__)), _out=out, _args=json.dumps(args)
    )
    try:
        interp.exec(
            "import json, sys\n"
            "sys.path.insert(0, _probe_dir)\n"
            "import probe\n"
            f"_result = probe.{call}(*json.loads(_args))\n"
            "with open(_out, 'w') as f:\n"
            "    json.dump(_result, f)\n"
        )
    except interpreters.ExecutionFailed as e:
        info = e.excinfo
        _write(out, {"crashed": {"type": info.type.__name__, "message": info.msg}})
    finally:
        interp.close()


def _write(path, value):
    with open(path, "w") as f:
        json.dump(value, f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("question", choices=["dists", "imports", "django", "requirements"])
    parser.add_argument("--where", choices=["main", "subinterpreter"], default="main")
    parser.add_argument("--out", required=True)
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    if args.question == "dists":
        _write(args.out, dists(args.names))
        return
    if args.question == "requirements":
        import tomllib

        with open(args.names[0], "rb") as f:
            listed = tomllib.load(f).get("project", {}).get("dependencies", [])
        with open(args.out, "w") as f:
            f.write("".join(line + "\n" for line in listed))
        return
    call, call_args = {
        "imports": ("try_imports", (args.names,)),
        "django": ("django_setup", tuple(args.names)),
    }[args.question]
    if args.where == "subinterpreter":
        in_subinterpreter(call, args.out, *call_args)
    else:
        _write(args.out, globals()[call](*call_args))


if __name__ == "__main__":
    main()
