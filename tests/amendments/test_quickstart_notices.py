"""Under `make run`'s defaults (SQLite, no Redis: tasks in-process), publish_policy writes the notices to the
directories EMAIL_URL and SMS_URL name. Run as the commands a person types, in fresh processes."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, env):
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_publish_policy_in_the_quick_start_writes_every_notice_to_the_mail_and_sms_directories(tmp_path):
    mail, texts = tmp_path / "mail", tmp_path / "sms"
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE", "STATICFILES_MANIFEST"}}
    env.update(DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}", REDIS_URL="",
               EMAIL_URL=f"filemail://{mail}", SMS_URL=f"file://{texts}")
    manage("migrate", "-v0", env=env)
    manage("seed_demo", "--clients", "12", "--password", "demo-pass-123", "-v0", env=env)
    policy = tmp_path / "policy-2.0.md"
    policy.write_text("# Policy 2.0\n\nWe now also tell you about transfers abroad.\n")
    out = manage("publish_policy", "--file", str(policy), "--version", "2.0", "--summary", "Transfers abroad",
                 "--effective-in-days", "31", "--material", env=env)
    assert "Published version 2.0" in out.stdout
    recipients = [line[4:] for path in mail.glob("*.log") for line in path.read_text().splitlines() if line.startswith("To: ")]
    assert len(recipients) == 13 and len(set(recipients)) == 13 and "client@demo.test" in recipients
    sms = [json.loads(p.read_text()) for p in texts.glob("*.json")]
    assert len(sms) == 13 and all("/policy/" in m["body"] for m in sms)
