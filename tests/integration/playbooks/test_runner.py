"""The runner on both stores: locks, approvals, dangerous steps, manual confirmation,
dry runs that touch nothing, parameter errors, the incident timeline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from opsbook.config.loader import load_config
from opsbook.incidents.model import EventKind
from opsbook.incidents.service import IncidentDesk
from opsbook.playbooks.records import RunStatus
from opsbook.playbooks.runner import PlaybookError, PlaybookRunner, RunRequest
from opsbook.store import Store
from opsbook.store.runs import RunLockedError

CONFIG = {
    "project": {"name": "review-engine"},
    "services": [{"name": "api"}],
    "receivers": [{"name": "chat", "webhook": {"url": "http://127.0.0.1:9/chat"}}],
    "people": [{"name": "alice"}, {"name": "bob"}, {"name": "carol"}],
    "playbooks": [
        {
            # review-engine "API Service Down", the steps a person does
            "name": "api-service-down",
            "params": [{"name": "service", "type": "choice", "choices": ["api", "worker"],
                        "default": "api"}],
            "lock": "{{ params.service }}",
            "steps": [
                {"name": "announce", "notify": {"receiver": "chat",
                                                "title": "Investigating {{ params.service }}"}},
                {"name": "monitor", "title": "Monitor for 10 minutes",
                 "manual": {"instruction": "Watch {{ params.service }} error rates"}},
            ],
        },
        {
            "name": "drop-caches",
            "steps": [
                {"name": "gate", "approval": {"approvers": 2, "allowed": ["alice", "bob"]}},
                {"name": "flush", "dangerous": True,
                 "notify": {"receiver": "chat", "title": "caches dropped"}},
            ],
        },
        {
            "name": "rollback",
            "params": [{"name": "revision", "required": True, "pattern": "^[a-z0-9-]+$"},
                       {"name": "token", "secret": True, "default": "tok-0123456789abcdef"}],
            "steps": [
                {"name": "undo", "dangerous": True,
                 "notify": {"receiver": "chat", "title": "rolling back to {{ params.revision }}",
                            "message": "with {{ params.token }}"}},
            ],
        },
    ],
}  # fmt: skip


@pytest.fixture
def runner(store_url: str, tmp_path: Path) -> Iterator[PlaybookRunner]:
    path = tmp_path / "opsbook.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    config = load_config(path, environ={})
    with Store.open(store_url) as store:
        desk = IncidentDesk(config, store)
        yield PlaybookRunner(
            config,
            store,
            timeline=lambda i, actor, text, data: desk.record(
                i, actor, text, data, EventKind.PLAYBOOK
            ),
        )


def request(name: str, actor: str = "alice", **params: str) -> RunRequest:
    return RunRequest(name, dict(params), actor)


async def test_a_target_is_worked_on_by_one_run_at_a_time(runner: PlaybookRunner) -> None:
    first = await runner.start(request("api-service-down"))
    assert first.status is RunStatus.WAITING  # at "Monitor for 10 minutes", lock held
    with pytest.raises(RunLockedError, match=f"run #{first.id} is already working"):
        await runner.start(request("api-service-down", actor="bob"))
    other = await runner.start(request("api-service-down", service="worker"))
    assert other.status is RunStatus.WAITING  # another target: no conflict
    assert len(runner.store.runs.list()) == 2  # the refused start left nothing behind
    runner.confirm(first.id, "bob")
    done = await runner.resume(first.id, "bob")
    assert done.status is RunStatus.SUCCEEDED
    steps = runner.store.runs.steps(first.id)
    assert [s.status for s in steps] == ["ok", "ok"] and steps[1].confirmed_by == "bob"
    again = await runner.start(request("api-service-down"))  # lock released at the end
    assert again.status is RunStatus.WAITING


async def test_approval_gate_needs_two_allowed_people(runner: PlaybookRunner) -> None:
    run = await runner.start(request("drop-caches"))
    assert run.status is RunStatus.WAITING
    with pytest.raises(PlaybookError, match="carol may not approve"):
        runner.approve(run.id, "carol")
    runner.approve(run.id, "alice")
    runner.approve(run.id, "alice")  # the same person twice counts once
    assert (await runner.resume(run.id, "alice")).status is RunStatus.WAITING
    runner.approve(run.id, "bob")
    done = await runner.resume(run.id, "bob")
    assert done.status is RunStatus.SUCCEEDED  # the dangerous step ran after the gate
    gate = runner.store.runs.steps(run.id)[0]
    assert gate.vars["approved_by"] == "alice,bob"
    with pytest.raises(PlaybookError, match="succeeded"):
        await runner.resume(run.id, "bob")


async def test_dangerous_step_waits_without_yes(runner: PlaybookRunner) -> None:
    run = await runner.start(request("rollback", revision="api-00041"))
    assert run.status is RunStatus.WAITING
    undo = runner.store.runs.steps(run.id)[0]
    assert undo.status == "waiting" and undo.rendered == "notify chat: rolling back to api-00041"
    assert runner.store.outbox.list() == []  # nothing was sent
    with pytest.raises(RunLockedError):  # the waiting run still holds the playbook
        await runner.start(RunRequest("rollback", {"revision": "api-00040"}, "bob", yes=True))
    runner.store.runs.set_status(run.id, RunStatus.ABANDONED, run.started_at)
    yes = await runner.start(RunRequest("rollback", {"revision": "api-00040"}, "alice", yes=True))
    assert yes.status is RunStatus.SUCCEEDED
    sent = runner.store.outbox.list()[0].notification
    assert sent.title == "rolling back to api-00040" and "tok-0123456789abcdef" not in (
        runner.store.runs.steps(yes.id)[0].output + str(runner.store.runs.get(yes.id))
    )
    assert runner.store.runs.get(yes.id).params["token"] == "***"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "missing required parameter 'revision'"),
        ({"revision": "a; rm -rf /"}, "does not match"),
        ({"revision": "ok", "force": "1"}, "unknown parameter 'force'"),
        ({"revision": "x" * 5000}, "longer than"),
    ],
)
async def test_bad_parameters_start_nothing(
    runner: PlaybookRunner, params: dict[str, str], message: str
) -> None:
    with pytest.raises(PlaybookError, match=message):
        await runner.start(RunRequest("rollback", params, "alice"))
    with pytest.raises(PlaybookError, match=message):
        runner.plan(RunRequest("rollback", params, "alice"))
    assert runner.store.runs.list() == []


async def test_dry_run_prints_every_step_and_touches_nothing(runner: PlaybookRunner) -> None:
    plan = runner.plan(RunRequest("rollback", {"revision": "api-00041"}, "alice"))
    assert [p.rendered for p in plan] == [
        "notify chat: rolling back to api-00041  [dangerous: needs --yes or an approval]"
    ]
    assert runner.store.runs.list() == [] and runner.store.outbox.list() == []
    with pytest.raises(PlaybookError, match="no playbook 'nope'"):
        runner.plan(RunRequest("nope", {}, "alice"))


async def test_steps_of_a_run_with_an_incident_are_on_its_timeline(
    runner: PlaybookRunner,
) -> None:
    desk = IncidentDesk(runner.config, runner.store)
    incident = desk.declare(title="API Service Down", severity="P1", actor="alice").incident
    run = await runner.start(RunRequest("api-service-down", {}, "alice", incident_id=incident.id))
    texts = [
        e.text for e in runner.store.incidents.timeline(incident.id) if e.kind is EventKind.PLAYBOOK
    ]
    assert texts[0] == f"Playbook api-service-down started by alice (run #{run.id})"
    assert any(t.startswith("Step announce: ok") for t in texts)
    assert texts[-1].startswith(f"Playbook api-service-down run #{run.id} waiting")
