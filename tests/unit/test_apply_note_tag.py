"""APPLY_NOTE_TAG: an apply appends the tag to the notes of what it categorized; the undo removes it again."""
from __future__ import annotations

import pytest

from core.config import Config, ConfigError

TAG = "#budget-assist"


@pytest.fixture()
def config(tmp_path):
    return Config.from_env({"DATA_DIR": str(tmp_path / "data"), "HEARTBEAT_INTERVAL_SECONDS": "0.2",
                            "BA_FAULTS_DIR": str(tmp_path / "faults"), "APPLY_NOTE_TAG": TAG})


def run(client, orchestrator, kind, body):
    job_id = client.simulate_post(f"/api/jobs/{kind}", json={"budgetId": "demo", **body}).json["job"]["id"]
    assert orchestrator.run(job_id).status == "succeeded"
    return client.simulate_get(f"/api/jobs/{job_id}").json


def test_the_tag_is_off_by_default_and_one_word():
    assert Config.from_env({}).apply_note_tag == ""
    with pytest.raises(ConfigError):
        Config.from_env({"APPLY_NOTE_TAG": "two words"})


def test_apply_tags_the_notes_and_undo_removes_the_tag(client, orchestrator, services):
    run(client, orchestrator, "sync-and-suggest", {})
    pending = client.simulate_get("/api/suggestions", params={"budgetId": "demo", "status": "pending"}).json["suggestions"][:3]
    ids = [s["id"] for s in pending]
    client.simulate_post("/api/suggestions/approve", json={"suggestionIds": ids})
    connector = services.connectors.open(services.budgets.get("demo"))
    txs = [s["transactionId"] for s in pending]
    notes_before = {t.id: t.notes for t in connector.transactions() if t.id in txs}
    apply = run(client, orchestrator, "suggestions-apply", {"suggestionIds": ids})
    result = apply["steps"][0]["result"]
    assert (result["noteTag"], result["noteTagged"]) == (TAG, 3)
    assert f"3 notes tagged {TAG}" in apply["steps"][0]["summary"]
    tagged = {t.id: t.notes for t in connector.transactions() if t.id in txs}
    assert all(n.split()[-1] == TAG for n in tagged.values())
    run(client, orchestrator, "suggestions-revert", {"applyJobId": apply["job"]["id"]})
    assert {t.id: t.notes for t in connector.transactions() if t.id in txs} == notes_before
    connector.close()
