"""Destructive and interactive commands: each rule, and the look-alikes it must not
catch. The commands are the five runbooks' own where they have one."""

from __future__ import annotations

import pytest

from opsbook.playbooks.importer.classify import (
    DESTRUCTIVE_RULES,
    danger,
    grep_last,
    interactive,
    is_bash,
)

DESTRUCTIVE = [
    ("rm -rf /var/tmp/build", "deletes files (rm)"),
    ("sudo rm old.log", "deletes files (rm)"),
    ('find /var/log/subjunctive -name "*.gz" -mtime +30 -delete', "deletes files (find -delete)"),
    ("find . -name '*.tmp' -exec rm {} \\;", "deletes files (find -delete)"),
    ("truncate -s 0 app.log", "empties a file (truncate)"),
    ("> /var/log/subjunctive/app.log", "empties a file (> file)"),
    ("docker rm -f web", "removes containers, images or volumes"),
    ("docker system prune -af", "removes containers, images or volumes"),
    ("docker compose down -v", "removes containers, images or volumes"),
    ("docker-compose stop content-service", "stops a service"),
    ("systemctl stop subjunctive-backend", "stops a service"),
    ("sudo reboot", "reboots or shuts down the machine"),
    ("pkill -9 node", "kills processes"),
    ("kubectl delete pod review-engine-1", "deletes Kubernetes objects or drains a node"),
    ("kubectl rollout undo deployment/review-engine", "rolls back a deployment (rollout undo)"),
    ("kubectl scale deployment review-engine --replicas=0", "scales to zero"),
    ("kubectl scale deployment review-engine --replicas 0", "scales to zero"),
    ("gcloud run services update x --max-instances=0", "scales to zero"),
    ("gcloud run services update x --min-instances=0", "scales to zero"),
    ("docker-compose scale worker=0", "scales to zero"),
    ("gcloud sql instances delete guesslyfe-db", "deletes cloud resources"),
    ("aws s3 rm s3://bucket/key", "deletes cloud resources"),
    ("aws ec2 delete-snapshot --snapshot-id s", "deletes cloud resources"),
    ("gcloud sql instances restart guesslyfe-db",
     "restarts or fails over a managed database (connections drop)"),
    ("gcloud redis instances failover guesslyfe-redis --region=us-central1",
     "restarts or fails over a managed database (connections drop)"),
    ("gcloud sql users set-password postgres --instance=db --password=X",
     "changes a database password (clients with the old one fail)"),
    ("gcloud run services update-traffic x --to-revisions=r1=100",
     "moves production traffic between revisions"),
    ('redis-cli DEL "queue:*"', "deletes Redis keys or flushes a database"),
    ("redis-cli FLUSHDB", "deletes Redis keys or flushes a database"),
    ("redis-cli flushall", "deletes Redis keys or flushes a database"),
    ('redis-cli --scan --pattern "expired:*" | xargs redis-cli DEL',
     "deletes Redis keys or flushes a database"),
    ("git push --force origin main", "rewrites shared Git history (push --force)"),
    ("git push -f origin main", "rewrites shared Git history (push --force)"),
    ("git reset --hard HEAD~1", "discards local Git changes"),
    ("dd if=/dev/zero of=/dev/sdb", "formats or overwrites a disk"),
    ("cat backup.sql | docker exec -i pg psql -U postgres -d postgres",
     "loads a dump into a database (a restore)"),
    ("gunzip -c backup.sql.gz | \\\n  PGPASSWORD=$P psql -h $H", "loads a dump into a database (a restore)"),
    ("psql -d app < backup.sql", "loads a dump into a database (a restore)"),
    ("aws s3 sync ./site s3://bucket --delete", "deletes data (--delete / --purge)"),
    ("./scripts/rollback.sh previous", "restores, rolls back, resets or deletes (says so in its name)"),
    ("./scripts/full-rollback.sh", "restores, rolls back, resets or deletes (says so in its name)"),
    ("./scripts/deploy.sh rollback", "restores, rolls back, resets or deletes (says so in its name)"),
    ("./scripts/backup.sh restore /path/x.sql.gz",
     "restores, rolls back, resets or deletes (says so in its name)"),
    ("npm run migration:revert", "restores, rolls back, resets or deletes (says so in its name)"),
    ("firebase-admin reset-sync --user u1", "restores, rolls back, resets or deletes (says so in its name)"),
    ("firebase-admin backup restore b1", "restores, rolls back, resets or deletes (says so in its name)"),
    ("pg_restore -d app -c dump", "restores, rolls back, resets or deletes (says so in its name)"),
    ("helm rollback api 3", "restores, rolls back, resets or deletes (says so in its name)"),
    ("terraform destroy", "restores, rolls back, resets or deletes (says so in its name)"),
    ('psql -c "DROP TABLE sessions;"', "drops a database object (DROP)"),
    ("psql -c 'DELETE FROM users WHERE id = 1'", "deletes rows (DELETE)"),
    ('psql -c "TRUNCATE audit_log"', "empties a table (TRUNCATE)"),
    ('psql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"',
     "ends other sessions (pg_terminate_backend)"),
]  # fmt: skip

HARMLESS = [
    "gcloud run services describe guesslyfe-backend --region=us-central1",
    "gcloud run services update guesslyfe-backend --region=us-central1 --max-instances=10",
    "kubectl scale deployment review-engine --replicas=10",
    "kubectl rollout history deployment/review-engine",
    "kubectl rollout status deployment/review-engine",
    "systemctl restart review-engine",
    "sudo systemctl reload nginx",
    "docker-compose restart content-service",
    "docker-compose up -d --force-recreate",
    "docker logs redcube3_xhs-content-service-1 --tail 20 | grep trace_id",
    "./scripts/backup-database.sh pre-rollback",  # a backup named after the rollback
    "firebase-admin backup create pre-rollback",
    './scripts/notify-team.sh "Rollback completed to version X"',  # a message, not a verb
    './scripts/status-page.sh update "Some data loss possible."',
    "npm run migrate:dry-run",
    "certbot renew --dry-run",
    "kubectl delete pod x --dry-run=client",
    "redis-cli INFO stats | grep hit_rate",
    "redis-cli CONFIG SET maxmemory 512mb",
    "pg_dump -U postgres -d postgres > backup.sql",
    "docker exec redcube_postgres psql -U postgres -d users -c 'SELECT * FROM v_user_sync_status;'",
    'psql -c "SELECT count(*) FROM t WHERE deleted_at IS NULL"',
    "echo 'rm -rf is dangerous'",
    "git push origin main",
    "find /var/log -name '*.log' -mtime +7 -exec gzip {} \\;",
    "firebase-admin cleanup-sessions --older-than 24h",
]


@pytest.mark.parametrize(("command", "reason"), DESTRUCTIVE)
def test_destructive(command: str, reason: str) -> None:
    assert reason in danger(command)


@pytest.mark.parametrize("command", HARMLESS)
def test_not_destructive(command: str) -> None:
    assert danger(command) == []


def test_every_rule_has_a_case() -> None:
    reasons = {reason for _, reason in DESTRUCTIVE}
    assert {reason for reason, _ in DESTRUCTIVE_RULES} <= reasons


def test_a_specific_rule_wins_over_the_name_rule() -> None:
    assert danger("kubectl rollout undo deployment/x") == ["rolls back a deployment (rollout undo)"]


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("gcloud sql connect guesslyfe-db --user=postgres", "opens an interactive database session"),
        ("psql -h db -U app", "opens an interactive database session"),
        ("redis-cli", "opens an interactive Redis session"),
        ("ssh prod-1", "opens an interactive remote session"),
        ("kubectl exec -it pod-1 -- sh", "opens an interactive terminal in a container"),
        ("htop", "htop is a full-screen program"),
        ("tail -f /var/log/review-engine/error.log", "follows output until someone stops it"),
        ("docker-compose logs -f content-service | grep ERROR", "follows output until someone stops it"),
        ("journalctl -fu app", "follows output until someone stops it"),
        ("watch -n 5 'psql -c \"SELECT 1\"'", "repeats until someone stops it (watch)"),
        ("docker stats", "shows live figures until someone stops it"),
        ("kubectl get pods -w", "watches until someone stops it"),
        ("sudo apt upgrade", "asks for confirmation (no -y)"),
        ("gunicorn main:app --workers 4", "runs a server in the foreground until someone stops it"),
    ],
)  # fmt: skip
def test_interactive(command: str, reason: str) -> None:
    assert interactive(command) == reason


@pytest.mark.parametrize(
    "command",
    [
        "docker-compose -f docker-compose.prod.yml logs postgres",  # -f is the compose file
        "docker stats --no-stream",
        "psql $DATABASE_URL -c 'SELECT 1'",
        "gunzip -c dump.gz | psql -d app",
        "redis-cli INFO memory",
        "redis-cli --bigkeys",
        "sudo apt-get install -y jq",
        "ssh prod-1 uptime",
        "gcloud logging read x --limit=100 | less",  # less without a terminal just copies
        "tail -n 100 app.log",
        "gunicorn main:app --daemon",
        "tail -f app.log &",
    ],
)
def test_not_interactive(command: str) -> None:
    assert interactive(command) is None


@pytest.mark.parametrize(
    ("script", "bash"),
    [
        ("#!/bin/bash\necho hi", True),
        ("#!/bin/sh\necho hi", False),
        ("if [[ $x == *.gz ]]; then echo; fi", True),
        ("source venv/bin/activate", True),
        ('echo -e "\\n1."', True),
        ("read -p 'ok?' answer", True),
        ("echo ${name//a/b}", True),
        ("echo {a,b}", True),
        ('if [ -z "$x" ]; then echo; fi', False),
        ("find . -exec gzip {} \\;", False),
        ("echo '[[ not code ]]'", False),
    ],
)
def test_bash_syntax(script: str, bash: bool) -> None:
    assert is_bash(script) is bash


def test_grep_decides_the_exit_status() -> None:
    assert grep_last("docker logs web | grep ERROR")
    assert grep_last("grep -c x file")
    assert not grep_last("grep x file | wc -l")
