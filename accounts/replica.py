"""The mark of a portal page whose reads may be served by a read replica (issue #20).

A page opts in with `@replica_reads`; nothing else ever reads from a replica. The decision of what may come from the
replica, and when, is the project's (`fulfillmen/db_router.py` registers it here from `FulfillmenConfig.ready()`, as
higher floors register their hooks in lower ones): without it, or without `DATABASE_REPLICA_URL`, a marked page runs
as any other, on the primary.
"""

from contextvars import ContextVar
from functools import wraps

_runner = None
_scope: ContextVar[object | None] = ContextVar("replica_scope", default=None)


def replica_used() -> bool:
    """Whether a read of the request being answered has come from the replica (so may be older than the primary)."""
    scope = _scope.get()
    return bool(scope is not None and getattr(scope, "used_replica", False))


def replica_scope_enter(scope):
    """For the runner: the scope (with its `used_replica`) of the call it makes; returns the token to exit with."""
    return _scope.set(scope)


def replica_scope_exit(token) -> None:
    _scope.reset(token)


def replica_runner_register(runner) -> None:
    """`runner(request, call)` answers the request by calling `call()`, with the replica allowed or not."""
    global _runner
    _runner = runner


def replica_reads(view):
    """Mark a client's portal page (GET only, reads only) as one whose allowlisted reads may go to the replica."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        runner = _runner
        if runner is None:
            return view(request, *args, **kwargs)
        return runner(request, lambda: view(request, *args, **kwargs))

    wrapper.replica_reads = True
    return wrapper
