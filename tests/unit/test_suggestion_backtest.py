"""Time-split backtest on the real data in tests/data: the engine against both baselines, same split."""
import json
from pathlib import Path

import pytest

from budget import demo_data
from suggestions.backtest import backtest
from suggestions.calibration import Calibrator
from suggestions.history_csv import read_history_csv

DATA = sorted((Path(__file__).parent.parent / "data").glob("*.csv"))


@pytest.fixture(scope="module", params=[p.stem for p in DATA])
def real(request):
    history, categories = read_history_csv(Path(__file__).parent.parent / "data" / f"{request.param}.csv")
    return backtest(history, categories)


@pytest.fixture(scope="module")
def demo():
    return backtest(demo_data.generate_history(7), list(demo_data.CATEGORIES))


def test_there_is_real_data():
    assert DATA, "tests/data holds the real sets (see tests/data/SOURCES.md)"


def test_the_engine_beats_both_baselines_on_real_data(real):
    e = real["engines"]
    assert e["engine_all"]["accuracy"] >= e["tfidf_svc"]["accuracy"]
    assert e["engine_all"]["accuracy"] > e["last_category"]["accuracy"]
    assert e["engine_all"]["unseen"]["accuracy"] >= e["tfidf_svc"]["unseen"]["accuracy"]


def test_confidence_means_what_it_says_per_band(real, demo):
    for result in (real, demo):
        for band in result["engines"]["engine_all"]["reliability"]:
            if band["from"] >= 0.5 and band["suggested"] >= 20:
                assert band["accuracy"] >= band["from"], band


def test_the_result_is_a_small_json_document(real):
    doc = json.loads(json.dumps(real))
    assert doc["history"] > doc["predicted"] > 0
    assert {"engine", "engine_all", "tfidf_svc", "last_category"} <= set(doc["engines"])
    assert doc["engines"]["engine"]["coverage"] <= 1.0


def test_calibration_is_conservative_and_monotone():
    import random

    rng = random.Random(3)
    raw = [rng.random() for _ in range(2000)]
    right = [rng.random() < r for r in raw]
    cal = Calibrator.fit(raw, right)
    values = [cal(x / 100) for x in range(101)]
    assert values == sorted(values)
    assert all(v <= x / 100 + 0.1 for v, x in zip(values, range(101)))
    assert cal(0.95) > 0.7
    assert Calibrator.fit([0.9] * 10, [True] * 10)(0.9) == pytest.approx(0.9 * 0.6)  # too few pairs: cautious
