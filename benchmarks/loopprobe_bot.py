"""`newsdigest run` with probes inside the bot process (used by ``benchmarks.loopprobe``).

    python -m benchmarks.loopprobe_bot OUT.jsonl --config FILE run

Imports only the standard library before the product, so that it adds next to
nothing to the heap the garbage collector walks. Writes one JSON object per
line to OUT.jsonl, each with ``at`` (time.monotonic(), the same clock in every
process of the machine):

- ``gc``: every generation-2 collection and any other over 10 ms (thread,
  milliseconds, objects collected), from gc.callbacks;
- ``lag``: how late a 5 ms ``asyncio.sleep`` woke on the bot's loop (each
  over ``ND_PROBE_LAG_MS``, default 0: every one);
- ``mark``: the fetch round (``refresh_sources``) and the summarize stage
  (``summarize_new``) beginning and ending.

Counterfactuals, off unless set (they change the process, not the code):
``ND_PROBE_GC_FREEZE=1`` collects and calls gc.freeze() after the engine's
warm-up; ``ND_PROBE_SWITCH_INTERVAL=S`` sets sys.setswitchinterval(S).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_started: dict[int, float] = {}
_out = ""


def emit(kind: str, at: float, **values: Any) -> None:
    with _lock, open(_out, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"kind": kind, "at": at, **values}) + "\n")


def _collections(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _started[threading.get_ident()] = time.monotonic()
        return
    began = _started.pop(threading.get_ident(), None)
    if began is None:
        return
    took = time.monotonic() - began
    if info["generation"] == 2 or took > 0.010:
        emit(
            "gc",
            began,
            generation=info["generation"],
            ms=round(took * 1000, 1),
            thread=threading.current_thread().name,
            collected=info["collected"],
        )


async def _lag_probe(threshold: float) -> None:
    while True:
        began = time.monotonic()
        await asyncio.sleep(0.005)
        late = time.monotonic() - began - 0.005
        if late > threshold:
            emit("lag", began, ms=round(late * 1000, 2))


class _Policy(asyncio.DefaultEventLoopPolicy):
    def __init__(self, threshold: float) -> None:
        super().__init__()
        self.threshold = threshold

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        loop = super().new_event_loop()
        loop.call_soon(lambda: loop.create_task(_lag_probe(self.threshold)))
        return loop


def _marked(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    if asyncio.iscoroutinefunction(function):

        async def marked_async(*args: Any, **kwargs: Any) -> Any:
            emit("mark", time.monotonic(), text=f"{name} begins")
            try:
                return await function(*args, **kwargs)
            finally:
                emit("mark", time.monotonic(), text=f"{name} ends")

        return marked_async

    def marked(*args: Any, **kwargs: Any) -> Any:
        emit("mark", time.monotonic(), text=f"{name} begins")
        try:
            return function(*args, **kwargs)
        finally:
            emit("mark", time.monotonic(), text=f"{name} ends")

    return marked


def main(argv: list[str]) -> int:
    global _out
    _out = argv[0]
    gc.callbacks.append(_collections)
    if os.environ.get("ND_PROBE_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(os.environ["ND_PROBE_SWITCH_INTERVAL"]))
    from digests.engine.core import EngineCore
    from digests.engine.work import PeriodicWork

    PeriodicWork.refresh_sources = _marked("refresh_sources", PeriodicWork.refresh_sources)  # type: ignore[method-assign]
    PeriodicWork.summarize_new = _marked("summarize_new", PeriodicWork.summarize_new)  # type: ignore[method-assign]
    if os.environ.get("ND_PROBE_GC_FREEZE"):
        warm_up = EngineCore.warm_up

        def frozen_warm_up(self: EngineCore, *args: Any, **kwargs: Any) -> None:
            warm_up(self, *args, **kwargs)
            gc.collect()
            gc.freeze()
            emit("mark", time.monotonic(), text=f"gc.freeze(): {gc.get_freeze_count()} objects")

        EngineCore.warm_up = frozen_warm_up  # type: ignore[method-assign]
    threshold = float(os.environ.get("ND_PROBE_LAG_MS", "0")) / 1000
    asyncio.set_event_loop_policy(_Policy(threshold))
    from bot.cli import main as newsdigest

    return newsdigest(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
