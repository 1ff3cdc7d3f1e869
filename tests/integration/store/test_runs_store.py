"""Playbook run locks and approvals on both stores."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsbook.store import Store
from opsbook.store.runs import RunLockedError

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_a_lock_has_one_holder_and_a_refused_run_leaves_nothing(store_url: str) -> None:
    with Store.open(store_url) as store:
        first = store.runs.create("restart", {}, "alice", NOW, lock_key="restart:api")
        with pytest.raises(RunLockedError) as caught:
            store.runs.create("restart", {}, "bob", NOW, lock_key="restart:api")
        assert caught.value.holder == first.id
        assert [r.id for r in store.runs.list()] == [first.id]
        assert store.runs.create("restart", {}, "bob", NOW, lock_key="restart:db").id


def test_an_approval_counts_once_per_person(store_url: str) -> None:
    with Store.open(store_url) as store:
        run = store.runs.create("drop", {}, "alice", NOW, lock_key=None)
        assert store.runs.approve(run.id, "gate", "alice", NOW)
        assert not store.runs.approve(run.id, "gate", "alice", NOW)
        assert store.runs.approve(run.id, "gate", "bob", NOW)
        assert store.runs.approvals(run.id, "gate") == ["alice", "bob"]
