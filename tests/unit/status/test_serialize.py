"""The JSON form of the page: the documented schema, nothing more."""

from __future__ import annotations

import json

from opsbook.statuspage.model import ComponentStatus
from opsbook.statuspage.serialize import page_json
from tests.unit.status.factory import component, incident, page


def test_the_documented_shape() -> None:
    data = page_json(
        page(
            components=(component(), component("api", ComponentStatus.DEGRADED, slo=None)),
            active=(incident(2),),
            past=(incident(1, resolved=True),),
        )
    )
    json.dumps(data)  # plain JSON types only
    assert set(data) == {"name", "status", "uptime_days", "components", "incidents", "maintenance"}
    assert data["status"] == {"indicator": "degraded", "description": "Degraded performance"}
    web, api = data["components"]
    assert set(web) == {"name", "description", "status", "status_label", "slo", "uptime"}
    assert (web["status"], web["slo"], api["slo"]) == ("operational", 99.9, None)
    uptime = web["uptime"]
    assert len(uptime["days"]) == 90
    assert uptime["days"][-1] == {
        "date": "2026-11-23",
        "percent": 99.0,
        "ok": 99,
        "total": 100,
        "level": "degraded",
    }
    assert uptime["days"][-2]["level"] == "up"
    assert uptime["days"][0] == {
        "date": "2026-08-26",
        "percent": None,
        "ok": 0,
        "total": 0,
        "level": "no_data",
    }
    assert (uptime["ok"], uptime["total"], uptime["target"]) == (109, 110, 99.9)
    assert uptime["percent"] == 99.0909 and uptime["meets_slo"] is False
    assert api["uptime"]["meets_slo"] is None
    [active] = data["incidents"]["active"]
    assert set(active) == {
        "id",
        "title",
        "status",
        "components",
        "started_at",
        "resolved_at",
        "updated_at",
        "updates",
    }
    assert active["updates"] == [
        {"at": "2026-11-23T12:05:00+00:00", "status": "investigating", "text": "Fixing."}
    ]
    assert data["incidents"]["past"][0]["resolved_at"] == "2026-11-23T13:00:00+00:00"
    [scheduled] = data["maintenance"]["scheduled"]
    assert scheduled["title"] == "Weekly vacuum" and scheduled["recurring"] is True
    assert data["maintenance"]["in_progress"] == []
