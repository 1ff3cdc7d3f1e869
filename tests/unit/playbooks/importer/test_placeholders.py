"""Blanks in runbook commands, and the words that only look like blanks."""

from __future__ import annotations

import pytest

from opsbook.playbooks.importer.placeholders import env_name, find, snake, template


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("firebase-admin reset-sync --user <userId>", [("<userId>", "user_id", "string")]),
        ("firebase-admin backup restore <backup-id>", [("<backup-id>", "backup_id", "string")]),
        ("curl localhost:<port>/health", [("<port>", "port", "int")]),
        ("docker-compose logs [service]", [("[service]", "service", "string")]),
        ("kubectl rollout restart [SERVICE_NAME]", [("[SERVICE_NAME]", "service_name", "string")]),
        ("git clone [repository-url]", [("[repository-url]", "repository_url", "string")]),
        ("restore backups/[date]/db/memo_app_[timestamp].sql.gz",
         [("[date]", "date", "string"), ("[timestamp]", "timestamp", "string")]),
        ("gcloud run services update-traffic x --to-revisions=PREVIOUS_REVISION=100",
         [("PREVIOUS_REVISION", "previous_revision", "string")]),
        ("gunzip -c backups/backup_TIMESTAMP.sql.gz", [("TIMESTAMP", "timestamp", "string")]),
        ("SELECT pg_terminate_backend(PID);", [("PID", "pid", "int")]),
        ("openssl x509 -in /path/to/cert.pem", [("/path/to/cert.pem", "cert_path", "string")]),
        ("./backup.sh restore /path/to/backup/file.sql.gz",
         [("/path/to/backup/file.sql.gz", "backup_file_path", "string")]),
        ("openssl s_client -connect your-domain.com:443",
         [("your-domain.com", "domain", "string")]),
        ("curl http://new-server-ip:8000/health", [("new-server-ip", "new_server_ip", "string")]),
        ("curl -H 'Authorization: Bearer YOUR_API_TOKEN'",
         [("YOUR_API_TOKEN", "api_token", "string")]),
    ],
)  # fmt: skip
def test_placeholders(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert [(p.raw, p.name, p.type) for p in find(text)] == expected
    for placeholder in find(text):
        assert text[placeholder.start : placeholder.end] == placeholder.raw


@pytest.mark.parametrize(
    "text",
    [
        'PGPASSWORD=$DB_PASSWORD psql -h "${DB_HOST}"',  # variables
        "export FEATURE_UGC_ANALYSIS=false",  # an assignment
        'echo "FEATURE_UGC_ANALYSIS=false" >> .env',
        "redis-cli SET emergency_cache_enabled true EX 3600",  # keywords
        "redis-cli DEL KEY",
        './scripts/create-incident.sh SEV1 "API Service Down"',
        'grep -E "(ERROR|WARN|trace_id)"',
        'if [ "$ttl" -eq -1 ]; then',  # a test
        "grep '[a-z]'",  # a character class
        "grep '[[:alpha:]]'",
        "kubectl get x -o jsonpath='{.spec.containers[0].image}'",
        "SELECT * FROM t WHERE created_at > CURRENT_TIMESTAMP",
        "curl -X POST http://localhost:8080/api",
        "cat <<EOF",
        "ls 2>/dev/null",
    ],
)
def test_not_placeholders(text: str) -> None:
    assert find(text) == []


def test_secrets_are_marked() -> None:
    (password,) = find("--password=NEW_SECURE_PASSWORD")
    assert password.secret and password.name == "new_secure_password"
    (ip,) = find("--source-ranges=MALICIOUS_IP")
    assert not ip.secret


def test_skipped_spans_are_not_searched() -> None:
    text = "ls [dir] # see [notes]"
    assert [p.raw for p in find(text, skip=[(9, len(text))])] == ["[dir]"]


@pytest.mark.parametrize(
    ("raw", "name"),
    [("userId", "user_id"), ("backup-id", "backup_id"), ("SERVICE_NAME", "service_name"),
     ("YOUR_API_KEY", "api_key"), ("2fa code", "value_2fa_code"), ("!!!", "value")],
)  # fmt: skip
def test_snake_names(raw: str, name: str) -> None:
    assert snake(raw) == name


def test_how_a_parameter_is_referenced() -> None:
    assert template("user_id") == "{{ params.user_id }}"
    assert env_name("user_id") == "OPSBOOK_PARAM_USER_ID"
