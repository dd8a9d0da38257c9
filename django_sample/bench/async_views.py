"""The async twins of /io, /db and /cpu, under /async/: `async def` views written as Django's
documentation writes them (docs/topics/async.txt), each awaiting something real. They own their
own URLs only; the sync views, their parameters (bench.views.CPU_N, IO_MS) and their queries
(bench.views.top_articles, countries) are shared, not copied, so a sync and an async endpoint
differ only in how they wait (the tests check each pair answers alike).

How they run depends on the server, not on this module:
- under WSGI (every launcher djbench has today) Django's handler wraps each async view in
  asgiref's async_to_sync: every request runs in a one-off event loop on a new thread while
  the request's own thread waits ("async views will still work under WSGI, but with
  performance penalties", Django's docs). That overhead is part of what these endpoints
  measure there;
- under ASGI they run on the server's event loop.

Django's async ORM (aget, acount, `async for` …) still runs each query in a sync thread through
sync_to_async(thread_sensitive=True): the database driver is synchronous.

All CPU work is pure Python (bench.work.spin): no C code that releases the GIL."""

import asyncio

from asgiref.sync import sync_to_async
from django.http import HttpResponseBadRequest, JsonResponse

from .views import CPU_N, IO_MS, bounded_param, countries, top_articles
from .work import spin

# The values `thread_sensitive` takes, and what each asks sync_to_async for.
_THREAD_SENSITIVE = {"0": False, "1": True}


async def io(request):
    """Waits like a call to an upstream API, with asyncio.sleep: the event loop is free to run
    other requests meanwhile (under ASGI; under WSGI the request's thread still waits). Same
    parameter, bounds and answer as /io: `{"ms": ms}`."""
    ms, bad = bounded_param(request, IO_MS)
    if bad:
        return bad
    await asyncio.sleep(ms / 1000)
    return JsonResponse({"ms": ms})


async def db(request):
    """/db's two queries through Django's async ORM (`async for` over each queryset), and the
    same answer as /db: `{"top": [...20 rows], "countries": [...]}`. select_related fetched
    each author with its article, so reading it here runs no query (an unfetched relation would
    raise SynchronousOnlyOperation in async code)."""
    top = [
        {"title": a.title, "author": a.author.name, "rating": a.rating}
        async for a in top_articles()
    ]
    by_country = [row async for row in countries()]
    return JsonResponse({"top": top, "countries": by_country})


async def cpu(request):
    """/cpu's pure-Python work (bench.work.spin) run through asgiref's sync_to_async, as
    Django's docs say to call blocking code from an async view. `thread_sensitive=1` (the
    default, sync_to_async's own) runs it in the one thread kept for sync code (under WSGI, the
    request's own thread; under ASGI, a thread per request); `thread_sensitive=0` in the event
    loop's default executor, a thread pool (under WSGI the one-off loop's, so a new thread for
    every request). Either way the work holds the GIL throughout. Same
    `n` as /cpu; answers `{"n": n, "result": spin(n), "thread_sensitive": bool}`."""
    n, bad = bounded_param(request, CPU_N)
    if bad:
        return bad
    sensitive = _THREAD_SENSITIVE.get(request.GET.get("thread_sensitive", "1"))
    if sensitive is None:
        return HttpResponseBadRequest("thread_sensitive must be 0 or 1")
    result = await sync_to_async(spin, thread_sensitive=sensitive)(n)
    return JsonResponse({"n": n, "result": result, "thread_sensitive": sensitive})
