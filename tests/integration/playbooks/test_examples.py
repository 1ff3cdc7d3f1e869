"""Every playbook of every example config dry-runs in CI: its parameters filled with valid
values derived from their declarations, every step rendered, and nothing touched (no run
recorded, no notification queued)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from opsbook.config.loader import load_config
from opsbook.config.models import Config
from opsbook.playbooks.params import Param, ParamError, as_text
from opsbook.playbooks.runner import PlaybookRunner, RunRequest
from opsbook.store import Store

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
RUNBOOK_EXAMPLES = [
    "api-backend-cloud",
    "content-service-deploy",
    "memoapp",
    "practice-app-ops",
    "review-engine",
]

# Candidate values for string parameters without a default, by name: the first one that
# fits the declaration (its pattern) is used. Names shared by several examples have one
# candidate per shape.
SAMPLES: dict[str, list[str]] = {
    "backup_file": [
        "/backups/subjunctive/backup_20250116_120000.dump.gz",
        "backup-20251127-120000.sql",
        "backups/2025-01-16/database/memo_app_20250116_020000.sql.gz",
    ],
    "backup_id": ["pre-release-20250910"],
    "cert_path": ["/etc/nginx/ssl/memoapp.pem"],
    "date": ["2025-01-16"],
    "from_date": ["2024-01-01"],
    "malicious_ip": ["203.0.113.7/32"],
    "new_cert_id": ["api-guesslyfe-2025"],
    "new_secure_password": ["horse-battery-staple-0117"],
    "previous_revision": ["guesslyfe-backend-00041-xyz"],
    "repository_url": ["https://github.com/example/memo-app.git"],
    "restore_timestamp": ["2024-01-01T00:00:00Z"],
    "revision": ["guesslyfe-backend-00042-abc"],
    "timestamp": ["20250116_120000"],
    "user_id": ["user_4711"],
}


def value_for(param: Param) -> str:
    """A valid value: the default, the first choice, the minimum, or a sample that fits."""
    if param.default is not None:
        return as_text(param.coerce(param.default))
    if param.type == "choice":
        return param.choices[0]
    if param.type == "int":
        return str(param.min if param.min is not None else 1)
    if param.type == "bool":
        return "true"
    if param.type == "duration":
        return "5m"
    for candidate in SAMPLES.get(param.name, ["example"]):
        try:
            param.coerce(candidate)
        except ParamError:
            continue
        return candidate
    raise AssertionError(f"no sample for parameter {param.name!r} matching {param.pattern}")


@cache
def example(name: str) -> Config:
    # An empty environment, as CI loads them: every ${ENV:...} takes its default.
    return load_config(EXAMPLES / f"{name}.yaml", environ={})


CASES = [
    pytest.param(name, playbook.name, id=f"{name}:{playbook.name}")
    for name in RUNBOOK_EXAMPLES
    for playbook in example(name).playbooks
]


def reads_earlier_steps(spec: object) -> bool:
    """A step whose templates use values only earlier steps produce."""
    text = json.dumps(spec, default=str)
    return re.search(r"\{\{[^}]*\b(vars|steps)\.", text) is not None


def test_every_runbook_example_has_playbooks() -> None:
    for name in RUNBOOK_EXAMPLES:
        assert example(name).playbooks, f"{name}.yaml has no playbooks"
    assert len(CASES) == sum(len(example(name).playbooks) for name in RUNBOOK_EXAMPLES)


@pytest.mark.parametrize(("name", "playbook"), CASES)
def test_dry_run_renders_every_step_and_touches_nothing(
    name: str, playbook: str, tmp_path: Path
) -> None:
    config = example(name)
    book = config.playbook(playbook)
    assert book is not None
    params = {p.name: value_for(p) for p in book.params}
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        plan = PlaybookRunner(config, store).plan(RunRequest(playbook, params, "ci"))
        assert [p.step.name for p in plan] == [s.name for s in book.steps]
        for planned in plan:
            step = planned.step
            where = f"{playbook} step {step.name}"
            assert planned.rendered.strip(), f"{where} renders nothing"
            if reads_earlier_steps(step.spec.model_dump()):
                assert planned.rendered.startswith("(needs values from earlier steps"), where
            else:
                assert "{{" not in planned.rendered and "(needs values" not in planned.rendered, (
                    f"{where}: {planned.rendered}"
                )
            assert ("[dangerous" in planned.rendered) == step.dangerous, where
            assert planned.condition == step.when
            for param in book.params:
                if param.secret:
                    assert params[param.name] not in planned.rendered, f"{where} shows a secret"
        assert store.runs.list() == []
        assert store.outbox.list() == []


def test_every_playbook_is_in_the_examples_doc() -> None:
    doc = (ROOT / "docs" / "playbook-examples.md").read_text(encoding="utf-8")
    for name in RUNBOOK_EXAMPLES:
        for playbook in example(name).playbooks:
            assert f"`{playbook.name}`" in doc, f"{name}: {playbook.name} is not documented"
