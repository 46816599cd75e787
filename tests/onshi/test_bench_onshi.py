"""bench/run's オンライン資格確認 figures on the smallest data set: the history of 1,000 dispensings opened with a
fresh fetch through the relay, and our share of it (the figures mean nothing at this scale)."""

from __future__ import annotations

import logging

from bench.run import SMOKE, run


def test_bench_opens_the_medication_history_through_the_relay(tmp_path):
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    figures = run("sqlite", SMOKE, only=["onshi"], workdir=tmp_path)
    assert [(f["name"], f["n"], f["target_ms"]) for f in figures] == [
        ("onshi_medication_history_3y", 1000, 300), ("onshi_medication_history_3y_own_work", 1000, 100),
        ("onshi_medication_history_3y_own_cpu", 1000, 100)]
    total, own, cpu = figures
    assert 0 < own["p50_ms"] <= total["p50_ms"]
    assert 0 < cpu["p95_ms"] < 10 * total["p95_ms"]  # the server's CPU did count (10 ms steps), not a constant
