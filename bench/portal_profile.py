"""Where one portal request's time goes: each page of bench/portal_pages.py served in-process, profiled.

`python -m bench.portal_profile` builds the portal benchmark's data in a database of its own (the same client:
1,000 ledger events, 5,000 sharing records, a logged-in session), then in one Django process (bench.settings,
DEBUG=false, the whole middleware stack, Django's test client on the WSGI handler) serves each page: a warm-up, the
median wall time of plain requests, then cProfile over more requests. Each function's own time (cProfile's
`tottime`, so nothing is counted twice) is put in the bucket of the code it belongs to — middleware, session,
axes, CSP, authentication, database (ORM + driver, with the statements' count and wall time from an execute
wrapper), template rendering, translations, the page's own code — and the breakdown per request is printed and
written to bench/portal_profile.json. cProfile slows Python down about 2×, evenly enough for shares to hold.

`--database-url URL --session KEY` profiles an existing build (skips the rebuild: quicker while iterating).
"""

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

from bench.harness import child_json, database_drop, database_recreate, django_env, migrate

PLAIN, PROFILED = 40, 30
OUT = Path(__file__).with_name("portal_profile.json")

# First match wins: (bucket, substrings of a function's file path or name).
BUCKETS = [
    ("session", ("django/contrib/sessions/",)),
    ("axes", ("/axes/",)),
    ("CSP", ("/csp/",)),
    ("authentication", ("django/contrib/auth/", "django_otp/")),
    ("messages", ("django/contrib/messages/",)),
    ("translations", ("django/utils/translation/", "gettext.py", "django/templatetags/i18n.py")),
    ("database", ("django/db/", "psycopg/", "psycopg_pool/", "psycopg_c", "<method 'execute'", "{method 'execute'")),
    ("templates", ("django/template/", "django/templatetags/", "django/utils/html.py", "django/utils/safestring.py",
                   "django/utils/formats.py", "django/utils/dateformat.py", "django/utils/functional.py")),
    ("URL resolving", ("django/urls/",)),
    ("middleware", ("django/middleware/", "django/core/handlers/", "whitenoise/", "django_permissions_policy/",
                    "/accounts/middleware.py", "/accounts/no_store.py", "/accounts/text_input.py",
                    "/fulfillmen/cookies.py", "/consent/middleware.py")),
    ("test client (not in production)", ("django/test/",)),
    ("HTTP request/response", ("django/http/", "django/core/signing.py", "http/cookies.py")),
]
APP_DIRS = ("accounts/", "consent/", "sharing/", "rights/", "amendments/", "transfers/", "transparency_log/",
            "processing/", "oversight/", "disclosures/", "notify/", "fulfillmen/", "webhooks/", "breaches/")


def bucket_of(filename: str, name: str) -> str:
    where = f"{filename}:{name}"
    for bucket, needles in BUCKETS:
        if any(n in where for n in needles):
            return bucket
    root = str(Path(__file__).resolve().parents[1]) + "/"
    if filename.startswith(root) and filename[len(root):].startswith(APP_DIRS):
        return "page code (views, selectors, models)"
    return "other (Python, stdlib, libraries)"


# Code that serves whoever calls it (builtins, thread-locals, lazy strings): its time goes to its callers' buckets.
PASS_THROUGH = ("~", "asgiref/local.py", "django/utils/functional.py", "/threading.py", "/copy.py", "/re/", "/enum.py")


def _attributed(stats: dict, key: tuple, seconds: float, depth: int = 0) -> dict[str, float]:
    """`seconds` of `key`'s own time by bucket: its own, or, for pass-through code, shared among its callers in
    proportion to the time each call site spent in it (up to a few levels up)."""
    filename, _line, func = key
    callers = stats[key][4]
    if depth > 6 or not callers or not any(p in filename for p in PASS_THROUGH):
        return {bucket_of(filename, func): seconds}
    weights = {caller: max(v[2], 1e-9) for caller, v in callers.items()}
    whole = sum(weights.values())
    out: dict[str, float] = {}
    for caller, w in weights.items():
        if caller not in stats:
            continue
        for b, t in _attributed(stats, caller, seconds * w / whole, depth + 1).items():
            out[b] = out.get(b, 0.0) + t
    return out or {bucket_of(filename, func): seconds}


def run(quick: bool = True) -> dict:
    name = "fulfillmen_bench_profile" + os.environ.get("BENCH_DATABASE_SUFFIX", "")
    url = database_recreate(name)
    try:
        env = django_env(url)
        migrate(env)
        built = child_json("bench.portal_pages", "build", env=env)
        return child_json("bench.portal_profile", "--profile", "--session", built["session"], env=env)
    finally:
        database_drop(name)


def _profile(session_key: str) -> dict:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from bench.portal_pages import PAGES, TRIVIAL

    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies["sessionid"] = session_key
    statements = {"n": 0, "seconds": 0.0}

    def counting(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements["n"] += 1
            statements["seconds"] += time.perf_counter() - started

    pages = {}
    for label, path in {"trivial view": TRIVIAL, **PAGES}.items():
        for _ in range(5):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        walls = []
        for _ in range(PLAIN):
            started = time.perf_counter()
            client.get(path)
            walls.append(time.perf_counter() - started)
        statements.update(n=0, seconds=0.0)
        profiler = cProfile.Profile()
        with connection.execute_wrapper(counting):
            profiler.enable()
            for _ in range(PROFILED):
                client.get(path)
            profiler.disable()
        buckets: dict[str, float] = {}
        total, functions = 0.0, []
        stats = pstats.Stats(profiler).stats
        for key, (_cc, _nc, tottime, _ct, _callers) in stats.items():
            for b, t in _attributed(stats, key, tottime).items():
                buckets[b] = buckets.get(b, 0.0) + t
            total += tottime
            functions.append((tottime, f"{key[0].rsplit('site-packages/', 1)[-1]}:{key[1]}:{key[2]}"))
        pages[label] = {
            "path": path, "wall_ms_median": round(statistics.median(walls) * 1000, 3),
            "profiled_ms_per_request": round(total * 1000 / PROFILED, 3),
            "statements_per_request": statements["n"] / PROFILED,
            "statements_wall_ms_per_request": round(statements["seconds"] * 1000 / PROFILED, 3),
            "bytes": len(response.content),
            "buckets_ms": {b: round(t * 1000 / PROFILED, 3) for b, t in sorted(buckets.items(), key=lambda x: -x[1])},
            "top_functions_ms": [(where, round(t * 1000 / PROFILED, 3)) for t, where in sorted(functions, reverse=True)[:25]],
        }
    return {"pages": pages, "plain_requests": PLAIN, "profiled_requests": PROFILED}


def table(report: dict) -> str:
    pages = report["pages"]
    names = sorted({b for p in pages.values() for b in p["buckets_ms"]},
                   key=lambda b: -sum(p["buckets_ms"].get(b, 0) for p in pages.values()))
    header = ["ms per request", *pages]
    rows = [["wall (median, not profiled)", *(f"{p['wall_ms_median']:.2f}" for p in pages.values())],
            ["statements (count)", *(f"{p['statements_per_request']:g}" for p in pages.values())],
            ["statements (wall ms)", *(f"{p['statements_wall_ms_per_request']:.2f}" for p in pages.values())],
            ["profiled, all buckets", *(f"{p['profiled_ms_per_request']:.2f}" for p in pages.values())]]
    rows += [[b, *(f"{p['buckets_ms'].get(b, 0):.2f}" for p in pages.values())] for b in names]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)  # the child: this process profiles
    parser.add_argument("--database-url", help="profile an existing portal_pages build instead of building one")
    parser.add_argument("--session", help="the session key of that build's client")
    args = parser.parse_args(argv)
    if args.profile:
        print(json.dumps(_profile(args.session)))
        return 0
    if args.database_url:
        report = child_json("bench.portal_profile", "--profile", "--session", args.session, env=django_env(args.database_url))
    else:
        report = run()
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
