"""The backtest job's result: the figures of a budget's replay and the small tables the Job Center shows.

`report(figures)` keeps the engine as shown (at the minimum confidence), the engine with every
suggestion kept (its reliability table), and "last category used for this payee" (what Actual does
by itself), and adds `tables`: [{"caption", "columns", "rows"}] with the values already formatted,
so the page renders them without knowing what they mean.
"""
from __future__ import annotations

from typing import Any, Optional

ENGINES = (("engine", "budget-assist"), ("last_category", "Last category used for this payee"))


def percent(value: Optional[float]) -> str:
    """0.9312 -> '93.1 %'; None -> '–'."""
    return "–" if value is None else f"{value * 100:.1f} %"


def report(figures: dict) -> dict:
    """The step result: the figures (engine, engine_all, last_category only) and their tables."""
    engines = {k: v for k, v in figures["engines"].items() if k in ("engine", "engine_all", "last_category")}
    result: dict[str, Any] = {k: v for k, v in figures.items() if k != "engines"}
    result["engines"] = engines
    result["tables"] = [accuracy_table(result), reliability_table(result)]
    return result


def _engine_label(result: dict) -> str:
    minimum = result.get("minConfidence") or 0
    return "budget-assist" + (f" (shown at ≥ {minimum:g})" if minimum else "")


def accuracy_table(result: dict) -> dict:
    """One row per engine: accuracy, coverage, accuracy on payees never seen before."""
    rows = []
    for key, label in ENGINES:
        figures = result["engines"].get(key)
        if figures is None:
            continue
        rows.append([_engine_label(result) if key == "engine" else label, percent(figures["accuracy"]),
                     percent(figures["coverage"]), percent(figures["unseen"]["accuracy"])])
    caption = (f"Trained on your {result['history']:,} earliest categorized transactions, "
               f"suggesting for the {result['predicted']:,} after them")
    return {"caption": caption, "columns": ["", "Right", "Suggested for", "Right on new payees"], "rows": rows}


def reliability_table(result: dict) -> dict:
    """Per confidence band: how many suggestions fell in it and how many of them were right."""
    figures = result["engines"].get("engine_all") or result["engines"]["engine"]
    rows = [[f"{band['from']:g}–{band['to']:g}", f"{band['suggested']:,}", f"{band['right']:,}",
             percent(band["accuracy"])] for band in figures.get("reliability", []) if band["suggested"]]
    return {"caption": "Does the confidence mean what it says?",
            "columns": ["Confidence", "Suggestions", "Right", "Right (share)"], "rows": rows}


def sentence(result: dict) -> str:
    """'budget-assist 93.1 % right (60.0 % on new payees), last category 85.0 %: 1,234 transactions replayed'."""
    engine = result["engines"]["engine"]
    text = f"budget-assist {percent(engine['accuracy'])} right ({percent(engine['unseen']['accuracy'])} on new payees)"
    last = result["engines"].get("last_category")
    if last is not None:
        text += f", last category {percent(last['accuracy'])}"
    return text + f": {result['predicted']:,} transactions replayed"
