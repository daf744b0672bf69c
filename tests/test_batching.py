import asyncio
import time

import numpy as np
import pytest

from petition_triage.service.batching import MicroBatcher


def _echo_run(calls: list[int]):
    def run(ids: list[list[int]]) -> dict[str, np.ndarray]:
        calls.append(len(ids))
        time.sleep(0.02)  # a model run takes time; requests pile up meanwhile
        return {"first": np.array([[row[0]] for row in ids]), "length": np.array([len(row) for row in ids])}

    return run


def test_concurrent_requests_are_coalesced_and_answered_in_order():
    calls: list[int] = []

    async def scenario():
        batcher = MicroBatcher(_echo_run(calls), max_batch=8, max_wait_ms=10)
        requests = [[[i] * (100 + i % 5)] for i in range(20)]  # similar lengths: worth coalescing
        results = await asyncio.gather(*(batcher.submit(r) for r in requests))
        await batcher.stop()
        return requests, results

    requests, results = asyncio.run(scenario())
    for request, result in zip(requests, results):
        assert result["first"][0, 0] == request[0][0] and result["length"][0] == len(request[0])
    assert sum(calls) == 20 and len(calls) <= 5 and max(calls) <= 8


def test_a_failing_run_fails_its_callers_and_the_batcher_goes_on():
    state = {"fail": True}

    def run(ids):
        if state["fail"]:
            state["fail"] = False
            raise RuntimeError("model exploded")
        return {"n": np.array([len(x) for x in ids])}

    async def scenario():
        batcher = MicroBatcher(run, max_batch=4, max_wait_ms=1)
        with pytest.raises(RuntimeError, match="model exploded"):
            await batcher.submit([[1, 2]])
        ok = await batcher.submit([[1, 2, 3]])
        await batcher.stop()
        return ok

    assert asyncio.run(scenario())["n"].tolist() == [3]


def test_only_similar_lengths_share_a_run():
    from petition_triage.service.batching import similar_length_runs

    lengths = [10, 200, 11, 12, 190, 60]
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    runs = similar_length_runs(lengths, order, max_rows=16)
    assert runs == [[0, 2, 3], [5], [4, 1]]
    assert similar_length_runs([10] * 5, list(range(5)), max_rows=2) == [[0, 1], [2, 3], [4]]


def test_a_retired_batcher_answers_what_was_queued_then_ends_its_worker():
    import threading

    calls: list[int] = []

    async def scenario():
        batcher = MicroBatcher(_echo_run(calls), max_batch=4, max_wait_ms=5)
        pending = [asyncio.ensure_future(batcher.submit([[i, i]])) for i in range(6)]
        await asyncio.sleep(0)
        # Retired from another thread, as a model activation in a route's thread does.
        retirer = threading.Thread(target=batcher.retire)
        retirer.start()
        retirer.join()
        results = await asyncio.gather(*pending)
        await asyncio.wait_for(batcher._worker, 2)  # the worker ends by itself
        ended = batcher._worker.done()
        late = await batcher.submit([[9]])  # a late caller still gets an answer
        await batcher.stop()
        return results, ended, late

    results, ended, late = asyncio.run(scenario())
    assert [r["first"][0, 0] for r in results] == list(range(6)) and ended
    assert late["first"][0, 0] == 9
