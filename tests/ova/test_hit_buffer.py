"""API hits buffered per process and written in batches to the shared counters (ova.ratelimit.HitBuffer)."""
import datetime as dt

from sqlalchemy import text

from ova.ratelimit import HitBuffer, batch_size, count_hit

WINDOW = dt.timedelta(hours=1)  # long enough that a test never straddles two windows… almost never


def _writer(connection, client, writes):
    def write(n):
        writes.append(n)
        return count_hit(connection, "api", client, WINDOW, n)
    return write


def _shared_total(connection, client):
    return connection.scalar(text("SELECT sum(hits) FROM rate_counters WHERE key = :k"), {"k": f"api:{client}"})


def test_batch_size_is_two_percent_of_the_limit_and_one_for_small_limits():
    assert [batch_size(n) for n in (1, 5, 99, 100, 600, 6000)] == [1, 1, 1, 2, 12, 120]


def test_hits_are_written_in_batches_and_every_hit_near_the_limit(connection):
    buffer, writes = HitBuffer(), []
    write = _writer(connection, "batched", writes)
    results = [buffer.hit("batched", limit=600, window=WINDOW, write=write) for _ in range(600)]
    # Batches of 12 while far from the limit, then each hit once the known total is within 12 of it.
    assert writes[:3] == [12, 12, 12] and set(writes[-12:]) == {1}
    assert _shared_total(connection, "batched") == 600 == sum(writes)
    assert sum(r is not None for r in results) == len(writes) < 100
    refused = buffer.hit("batched", limit=600, window=WINDOW, write=write)
    assert refused is not None and refused[0] == 601  # decided on the shared total, at once


def test_several_processes_exceed_the_limit_by_less_than_a_batch_each(connection):
    workers = [HitBuffer() for _ in range(3)]
    writes = []
    write = _writer(connection, "shared", writes)
    accepted = 0
    for i in range(1000):
        result = workers[i % 3].hit("shared", limit=300, window=WINDOW, write=write)
        accepted += result is None or result[0] <= 300
    assert 300 <= accepted <= 300 + 3 * (batch_size(300) - 1)
    assert _shared_total(connection, "shared") >= 1000 - 3 * batch_size(300)
