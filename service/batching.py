"""Micro-batching: concurrent requests are coalesced into one onnxruntime run.

Each request puts its token ids on a queue and awaits a future. One worker takes what is
waiting, up to `max_batch` rows or `max_wait_ms` after the first arrival, runs it in a thread (so
the event loop keeps accepting requests) and hands each caller its rows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RunFn = Callable[[list[list[int]]], dict[str, np.ndarray]]
# A run pads every row to its longest; rows join a run only while padding stays under this share of
# the real tokens. On two AVX2 cores a padded batch was slower than the same rows one by one
# (bench/results/inference.json), so only similar lengths are worth coalescing.
MAX_PADDING = 0.25


def similar_length_runs(lengths: list[int], order: list[int], max_rows: int) -> list[list[int]]:
    """Consecutive slices of `order` (rows sorted by length) with little padding and at most `max_rows`."""
    runs: list[list[int]] = []
    current: list[int] = []
    tokens = 0
    for i in order:
        padded = (len(current) + 1) * lengths[i]  # sorted ascending: the new row is the longest
        if current and (len(current) >= max_rows or padded > (1 + MAX_PADDING) * (tokens + lengths[i])):
            runs.append(current)
            current, tokens = [], 0
        current.append(i)
        tokens += lengths[i]
    if current:
        runs.append(current)
    return runs


@dataclass
class _Pending:
    ids: list[list[int]]
    future: asyncio.Future


_RETIRE = _Pending([], None)  # queued by `retire`: the worker ends when it reaches it


class MicroBatcher:
    def __init__(self, run: RunFn, max_batch: int = 16, max_wait_ms: float = 5.0,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self.run = run
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.on_batch = on_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._worker: asyncio.Task | None = None
        self._event_loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        if self._worker is None or self._worker.done():
            self._event_loop = asyncio.get_running_loop()
            self._worker = asyncio.create_task(self._loop())

    def retire(self) -> None:
        """Ends the worker once what is queued now has run: a replaced model's batcher must not keep
        its worker (and through it the model's onnxruntime session) alive. Safe from any thread, as a
        model activation in a route's thread calls it; a late submit starts a worker again."""
        if self._worker is not None and not self._worker.done():
            self._event_loop.call_soon_threadsafe(self._queue.put_nowait, _RETIRE)

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None

    async def submit(self, ids: list[list[int]]) -> dict[str, np.ndarray]:
        """Outputs for these rows, computed together with whatever else is waiting."""
        self.start()
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(ids, future))
        return await future

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._queue.get()
            if first is _RETIRE:
                return
            batch, rows = [first], len(first.ids)
            retiring = False
            deadline = time.monotonic() + self.max_wait
            while rows < self.max_batch:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), timeout)
                except asyncio.TimeoutError:
                    break
                if item is _RETIRE:
                    retiring = True
                    break
                batch.append(item)
                rows += len(item.ids)
            await self._run(loop, batch, rows)
            if retiring:
                return

    async def _run(self, loop: asyncio.AbstractEventLoop, batch: list[_Pending], rows: int) -> None:
        all_ids = [ids for item in batch for ids in item.ids]
        # Similar lengths run together: a batch pads to its longest row.
        order = sorted(range(len(all_ids)), key=lambda i: len(all_ids[i]))
        try:
            outputs: dict[str, list[np.ndarray]] = {}
            for chunk in similar_length_runs([len(ids) for ids in all_ids], order, self.max_batch):
                result = await loop.run_in_executor(None, self.run, [all_ids[i] for i in chunk])
                for name, value in result.items():
                    outputs.setdefault(name, []).append(value)
                if self.on_batch:
                    self.on_batch(len(chunk))
            inverse = np.argsort(order)
            merged = {name: np.concatenate(parts)[inverse] for name, parts in outputs.items()}
        except Exception as exc:  # every waiting caller gets the error, the worker lives on
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        offset = 0
        for item in batch:
            n = len(item.ids)
            if not item.future.done():
                item.future.set_result({name: value[offset : offset + n] for name, value in merged.items()})
            offset += n
