"""Parsing in worker processes with a time budget (pebble's process pool).

Untrusted bytes can make a parser run away in ways no guard foresees (a
superlinear regex, a deep recursion, a huge allocation), so ``ParserPool`` runs
a parse function in a worker process that can be stopped. Workers are reused
between tasks and started by a fork server (spawn where there is none; never
plain fork, which is unsafe in a process with threads) that has imported the
parse modules once, so a new worker costs a fork, not an interpreter start.

A task past its budget is ended (SIGTERM, then SIGKILL) and the pool starts a
fresh worker; the caller gets ``ParseTimeout``. The budget counts from the
moment a worker takes the task, not while the task waits for a free worker.

What reaches the caller:

- the function's value (it must pickle; ``ParsedFeed`` and ``RawArticle`` do);
- a ``NewsdigestError`` raised in the worker, as itself (class, message and
  attributes);
- ``FeedError("parser failed: Type: message")`` for any other exception, raised
  from the original when the original survives pickling, with the worker's
  traceback as a note;
- ``FeedError`` naming the reason when the worker died (killed, out of memory)
  or the pool broke; a broken pool is started again by the next call.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import pickle
import signal
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from pebble import ProcessExpired, ProcessPool

from digests.errors import FeedError, NewsdigestError, ParseTimeout

P = ParamSpec("P")
T = TypeVar("T")

# Imported once by the fork server, so every worker starts with them loaded.
# "__main__" as multiprocessing's default: each worker would import it anyway
# (so, as always with forkserver and spawn, a main script needs its
# ``if __name__ == "__main__":`` guard).
_PRELOAD = ["__main__", "digests.ingest.isolation", "digests.ingest.parse"]
_FORKSERVER = "forkserver" in multiprocessing.get_all_start_methods()
_MAX_MESSAGE_CHARS = 300

_EngineError = tuple[type[NewsdigestError], tuple[Any, ...], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Failure:
    """An exception raised in a worker, in a form that always pickles."""

    type_name: str
    message: str
    remote_traceback: str
    engine_error: _EngineError | None = None
    original: BaseException | None = None

    def error(self) -> Exception:
        if self.engine_error is not None:
            cls, args, state = self.engine_error
            error = cls.__new__(cls, *args)  # not __init__: its signature may differ
            error.args = args
            error.__dict__.update(state)
            return error
        detail = f"{self.type_name}: {self.message}" if self.message else self.type_name
        failed = FeedError(f"parser failed: {detail}")
        failed.add_note(f"in the parser process:\n{self.remote_traceback.rstrip()}")
        return failed


def _pickles(value: object) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


def _survives_pickling(error: BaseException) -> bool:
    try:
        copy = pickle.loads(pickle.dumps(error))
    except Exception:
        return False
    return type(copy) is type(error) and str(copy) == str(error)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_MESSAGE_CHARS else line[: _MAX_MESSAGE_CHARS - 1] + "…"


def _failure(error: BaseException) -> _Failure:
    remote = "".join(traceback.format_exception(error))
    if isinstance(error, NewsdigestError):
        for engine_error in (
            (type(error), error.args, dict(vars(error))),
            (type(error), (str(error),), {}),
        ):
            if _pickles(engine_error):
                return _Failure(type(error).__name__, str(error), remote, engine_error)
    original = error if _survives_pickling(error) else None
    return _Failure(type(error).__name__, _one_line(str(error)), remote, original=original)


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    """Runs in the worker. Pickles the outcome itself, so that nothing the
    function returns or raises can fail to cross back inside pebble."""
    try:
        return pickle.dumps((True, fn(*args, **kwargs)), pickle.HIGHEST_PROTOCOL)
    except BaseException as error:  # SystemExit too: the worker must answer
        try:
            failure = _failure(error)
        except Exception:  # an exception whose str() fails, say
            failure = _Failure(type(error).__name__, "", "")
        return pickle.dumps((False, failure), pickle.HIGHEST_PROTOCOL)


def _ready() -> bool:
    return True


def _outcome(data: bytes) -> Any:
    try:
        ok, value = pickle.loads(data)
    except Exception as exc:
        raise FeedError(
            f"parser failed: its result could not be read ({type(exc).__name__}: {exc})"
        ) from exc
    if ok:
        return value
    failure: _Failure = value
    raise failure.error() from failure.original


def _death(exitcode: int | None) -> str:
    if exitcode is None or exitcode >= 0:
        return f"exit code {exitcode}"
    try:
        name = signal.Signals(-exitcode).name
    except ValueError:
        name = f"signal {-exitcode}"
    hint = ", perhaps out of memory" if -exitcode == signal.SIGKILL else ""
    return f"killed by {name}{hint}"


class ParserPool:
    """``workers`` reused processes; each task may run ``budget_seconds``.

    Start it with ``start()`` (or let the first task do it); ``close()`` ends
    the workers. Also a context manager. ``budget_seconds`` may be changed; it
    applies to the tasks submitted after.
    """

    def __init__(
        self, workers: int, budget_seconds: float, *, warm: Callable[[], object] | None = None
    ) -> None:
        if workers < 1:
            raise ValueError("a parser pool needs at least one worker")
        if not budget_seconds > 0:
            raise ValueError("the parse budget must be more than 0 seconds")
        self.workers = workers
        self.budget_seconds = budget_seconds
        self.warm = warm
        self._pool: ProcessPool | None = None
        # Each worker releases it once it has started: a pool is never torn down
        # under a worker still reading its start-up arguments (the semaphores it
        # would read are gone then, and the fork server prints a traceback).
        self._up: Any = None
        self._seen_up = 0
        self._pending: set[Future[bytes]] = set()
        self._closed = False
        self._lock = threading.Lock()

    def __enter__(self) -> ParserPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start the workers now and wait until they are up (blocks)."""
        self.run_sync(_ready)
        self._wait_for_workers(timeout=self.budget_seconds)

    def _wait_for_workers(self, timeout: float) -> None:
        """Until every worker of the current pool has started (or ``timeout``)."""
        up = self._up
        if up is None:
            return
        deadline = time.monotonic() + timeout
        while self._seen_up < self.workers:
            if not up.acquire(timeout=max(0.0, deadline - time.monotonic())):
                return
            self._seen_up += 1

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` in a worker, awaited without blocking the loop.

        ``fn`` must be a module-level function; its arguments and value must
        pickle. Cancelling the awaiting task ends the worker's task as well.
        """
        if not self._started():
            await asyncio.to_thread(self._ensure_pool)
        future = self._submit(fn, args, kwargs)
        try:
            data = await asyncio.wrap_future(future)
        except (TimeoutError, ProcessExpired, BrokenProcessPool) as exc:
            raise self._translate(exc) from exc
        result: T = _outcome(data)
        return result

    def run_sync(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` in a worker, waiting for it (command line)."""
        future = self._submit(fn, args, kwargs)
        try:
            data = future.result()
        except (TimeoutError, ProcessExpired, BrokenProcessPool) as exc:
            raise self._translate(exc) from exc
        except BaseException:  # e.g. ^C while waiting: end the worker's task too
            future.cancel()
            raise
        result: T = _outcome(data)
        return result

    def close(self) -> None:
        """End the workers; tasks still running fail with ``FeedError``."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            pending = list(self._pending)
        if pool is not None:
            self._wait_for_workers(timeout=10)
            _stop(pool)
        for future in pending:
            with contextlib.suppress(InvalidStateError):  # unless it finished first
                future.set_exception(FeedError("the parser pool was closed"))

    @property
    def closed(self) -> bool:
        return self._closed

    def _started(self) -> bool:
        pool = self._pool
        return pool is not None and pool.active

    def _ensure_pool(self) -> ProcessPool:
        """The running pool; a new one if there is none or the old one broke."""
        broken = None
        with self._lock:
            if self._closed:
                raise FeedError("the parser pool is closed")
            pool = self._pool
            if pool is None or not pool.active:  # ``active`` also starts a new pool
                self._up = _semaphore()
                self._seen_up = 0
                broken, pool = pool, _new_pool(self.workers, self._up, self.warm)
                self._pool = pool
                pool.active  # noqa: B018 - pebble starts the workers on first use
        if broken is not None:
            _stop(broken)
        return pool

    def _submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Future[bytes]:
        for attempt in (1, 2):
            pool = self._ensure_pool()
            try:
                future = pool.schedule(_call, (fn, args, kwargs), timeout=self.budget_seconds)
            except RuntimeError:  # the pool broke since we looked: start another once
                if attempt == 2:
                    raise FeedError("the parser pool cannot be started") from None
                continue
            with self._lock:
                self._pending.add(future)
            future.add_done_callback(self._forget)
            return future
        raise AssertionError("unreachable")

    def _forget(self, future: Future[bytes]) -> None:
        with self._lock:
            self._pending.discard(future)

    def _translate(self, exc: BaseException) -> FeedError:
        if isinstance(exc, ProcessExpired):
            return FeedError(f"the parser process died ({_death(exc.exitcode)})")
        if isinstance(exc, BrokenProcessPool):
            reason = _one_line(str(exc)) or "its workers died"
            return FeedError(f"the parser pool broke ({reason}); the next parse starts a new one")
        return ParseTimeout(self.budget_seconds)


def _context() -> Any:
    if _FORKSERVER:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def _semaphore() -> Any:
    return _context().Semaphore(0)


def _worker_up(up: Any, warm: Callable[[], object] | None) -> None:
    """Each worker's initializer: pay ``warm``'s one-time cost, then tell the
    pool it has started."""
    try:
        if warm is not None:
            with contextlib.suppress(Exception):  # a task needing it meets the error itself
                warm()
    finally:
        up.release()


def _new_pool(workers: int, up: Any, warm: Callable[[], object] | None) -> ProcessPool:
    return ProcessPool(
        max_workers=workers, initializer=_worker_up, initargs=(up, warm), context=_context()
    )


def _stop(pool: ProcessPool) -> None:
    pool.stop()
    pool.join()
