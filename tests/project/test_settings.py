"""Production settings: loud without a secret, clean under `check --deploy`. Run in fresh processes."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k7#Qz9!vR2@pL5$wX8^mN3&bT6*yH1(dF4)gJ0-sA_eC+uV=iO{oP}lK[jU]hY;tR:eW",
    "ALLOWED_HOSTS": "portal.fulfillmen.com",
    "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fulfillmen"),
}


def manage(*args, **env_overrides):
    configured = {"DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT", "SECURE_COOKIES", "ALLOWED_HOSTS", "STATICFILES_MANIFEST",
                  "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in configured}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", **{**PRODUCTION, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


def test_secret_key_can_come_from_a_file(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(PRODUCTION["SECRET_KEY"] + "\n")
    result = manage("check", "--deploy", "--fail-level", "WARNING",
                    **{**PRODUCTION, "SECRET_KEY": "", "SECRET_KEY_FILE": str(key_file)})
    assert result.returncode == 0, result.stderr


def test_unreadable_secret_key_file_is_a_clear_error(tmp_path):
    result = manage("check", **{**PRODUCTION, "SECRET_KEY": "", "SECRET_KEY_FILE": str(tmp_path / "missing")})
    assert result.returncode != 0 and "SECRET_KEY_FILE=" in result.stderr and "cannot be read" in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_mode_without_redis_says_tasks_run_in_process():
    result = manage("check", DEBUG="true", REDIS_URL="", DATABASE_URL="sqlite:///:memory:")
    assert result.returncode == 0
    assert "REDIS_URL is not set: Celery tasks run in-process" in result.stderr
