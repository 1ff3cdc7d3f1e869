"""Shell blocks as items: one command each, titled by the comments above them."""

from __future__ import annotations

from opsbook.playbooks.importer.commands import ShellItem, TerminalState, split_block


def _items(content: str, first_line: int = 1) -> list[tuple[str, str, str, int]]:
    block = split_block(content, first_line)
    return [(i.kind, i.title, i.text, i.line) for i in block.items]


def test_numbered_comments_title_the_commands_below_them() -> None:
    # review-engine.md, "Playbook: API Service Down"
    content = """\
# 1. Verify the issue
curl -I https://api.moshimoshi.app/health

# 2. Check logs
tail -f /var/log/review-engine/error.log
datadog-cli logs query "service:review-engine status:error" --last 1h
"""
    assert _items(content, 177) == [
        ("command", "Verify the issue", "curl -I https://api.moshimoshi.app/health", 178),
        ("command", "Check logs", "tail -f /var/log/review-engine/error.log", 181),
        ("command", "Check logs",
         'datadog-cli logs query "service:review-engine status:error" --last 1h', 182),
    ]  # fmt: skip


def test_a_comment_between_commands_under_a_numbered_title_is_an_instruction() -> None:
    content = """\
# 3. Gradual traffic shift
./scripts/traffic-shift.sh 10  # 10% to green
# Monitor for 10 minutes
./scripts/traffic-shift.sh 50  # 50% to green
"""
    assert _items(content) == [
        ("command", "Gradual traffic shift (10% to green)", "./scripts/traffic-shift.sh 10", 2),
        ("instruction", "Monitor for 10 minutes", "Monitor for 10 minutes", 3),
        ("command", "Gradual traffic shift (50% to green)", "./scripts/traffic-shift.sh 50", 4),
    ]


def test_comments_followed_by_no_command_are_instructions_and_labels_are_dropped() -> None:
    content = """\
# 1. Provision new server
# 2. Install application
git clone https://github.com/yourorg/app.git

# Run at 3 AM UTC
0 3 * * * /opt/maintenance/daily.sh

# daily.sh contents:
#!/bin/bash
# 1. Clear expired sessions
firebase-admin cleanup-sessions --older-than 24h
npm run coverage
# Ensure coverage > 80%
"""
    assert _items(content) == [
        ("instruction", "Provision new server", "Provision new server", 1),
        ("command", "Install application", "git clone https://github.com/yourorg/app.git", 3),
        ("cron", "Run at 3 AM UTC", "0 3 * * * /opt/maintenance/daily.sh", 6),
        (
            "command",
            "Clear expired sessions",
            "firebase-admin cleanup-sessions --older-than 24h",
            11,
        ),
        ("command", "Clear expired sessions", "npm run coverage", 12),
        ("instruction", "Ensure coverage > 80%", "Ensure coverage > 80%", 13),
    ]


def test_a_context_comment_prefixes_the_titles_after_it() -> None:
    content = """\
# For custom certificates
# 1. Obtain new certificate
# 2. Update domain mapping
gcloud run domain-mappings update --domain=api.example.com
"""
    assert [(k, t) for k, t, _, _ in _items(content)] == [
        ("instruction", "For custom certificates: Obtain new certificate"),
        ("command", "For custom certificates: Update domain mapping"),
    ]


def test_continuations_heredocs_and_loops_stay_one_command() -> None:
    content = """\
gcloud run services update-traffic guesslyfe-backend \\
  --region=us-central1 \\
  --to-revisions=PREVIOUS_REVISION=100
gcloud logging read "severity=ERROR" --limit=100 --format=json |
  jq '.[] | .jsonPayload.error' | sort | uniq -c
redis-cli KEYS * | while read key; do
    ttl=$(redis-cli TTL "$key")
    if [ "$ttl" -eq -1 ]; then
        echo "$key has no TTL"
    fi
done
psql <<'SQL'
SELECT 1;
SQL
docker exec p psql -c \\
  "SELECT
    COUNT(*) as total
   FROM users;"
echo done
"""
    items = _items(content)
    assert [line for _, _, _, line in items] == [1, 4, 6, 12, 15, 19]
    assert items[2][2].endswith("done") and items[2][2].count("\n") == 5
    assert items[3][2] == "psql <<'SQL'\nSELECT 1;\nSQL"
    assert items[4][2].endswith('FROM users;"')


def test_sql_typed_into_a_database_prompt_is_sql() -> None:
    content = """\
# Check slow queries
gcloud sql connect guesslyfe-db --user=postgres
SELECT query, mean_exec_time, calls
FROM pg_stat_statements
LIMIT 10;

# Kill blocking query (if needed)
SELECT pg_terminate_backend(PID);
"""
    assert [(k, t, line) for k, t, _, line in _items(content)] == [
        ("command", "Check slow queries", 2),
        ("sql", "Check slow queries", 3),
        ("sql", "Kill blocking query (if needed)", 8),
    ]


def test_a_script_with_a_shebang_is_one_item() -> None:
    content = "#!/bin/bash\n# Daily health check script\n\nset -e\necho one\necho two\n"
    block = split_block(content, 22)
    assert [(i.kind, i.title, i.line) for i in block.items] == [
        ("script", "Daily health check script", 22)
    ]
    assert block.items[0].text == content.strip()


def test_a_file_pasted_into_a_shell_block_is_recognised() -> None:
    block = split_block("# /etc/logrotate.d/app\n/var/log/app/*.log {\n    daily\n}\n", 573)
    assert block.file_path == "/etc/logrotate.d/app" and block.items == []


def test_a_block_of_assignments_is_settings_not_commands() -> None:
    block = split_block("# Production\nA=https://x\nB=firestore://y\n", 1)
    assert block.assignments_only


def test_cd_export_and_source_carry_over_to_later_steps() -> None:
    state = TerminalState()
    first = split_block(
        "git clone https://x/app.git\ncd app/backend\nsource venv/bin/activate\n"
        "export MODE=prod\npip install -r requirements.txt\n",
        1,
        state,
    )
    assert [i.text for i in first.items] == [
        "git clone https://x/app.git",
        "pip install -r requirements.txt",
    ]
    pip = first.items[1]
    assert (pip.cwd, pip.env, pip.prelude) == (
        "app/backend",
        {"MODE": "prod"},
        ["source venv/bin/activate"],
    )
    later = split_block("cd ..\nls\n", 9, state).items[0]
    assert isinstance(later, ShellItem) and later.cwd == "app"
    assert state.notes[0] == (2, "`cd app/backend`: later steps run in app/backend")
