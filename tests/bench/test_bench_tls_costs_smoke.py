"""Smoke test of ``python -m asyncssl bench tls-costs``: every row is measured and the JSON is well
formed. Never a speed assertion."""

from __future__ import annotations

import json

from helpers.bench import run_bench


def test_every_row_is_measured(tmp_path):
    result = run_bench("tls-costs", "--quick", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "tls-costs.json").read_text())
    assert data["suite"] == "tls-costs" and len(data["rows"]) == 12
    assert all(row["us"] > 0 for row in data["rows"]), data["rows"]
    assert {row["group"] for row in data["rows"]} == {"per message", "per handshake"}
    assert "where a TLS call's time goes" in result.stdout
