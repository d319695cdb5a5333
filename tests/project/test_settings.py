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


def test_production_refuses_to_start_without_a_consent_log_signing_key():
    result = manage("check", **{**PRODUCTION, "LOG_SIGNING_KEY": ""})
    assert result.returncode != 0
    assert "ImproperlyConfigured: LOG_SIGNING_KEY is not set" in result.stderr


def test_a_malformed_consent_log_signing_key_stops_the_start():
    result = manage("check", **{**PRODUCTION, "LOG_SIGNING_KEY": "PRIVATE+KEY+portal+00000000+AAAA"})
    assert result.returncode != 0
    assert "transparency_log.E001" in result.stderr and "LOG_SIGNING_KEY is not a usable signer key" in result.stderr


def test_make_runs_development_key_is_written_once_and_used_by_the_next_start(tmp_path):
    key_file = tmp_path / "dev-log-signing-key"
    env = {"DEBUG": "true", "LOG_SIGNING_KEY": "", "DEV_LOG_SIGNING_KEY_FILE": str(key_file), "LOG_ORIGIN": "portal.example/log",
           "DATABASE_URL": "sqlite:///:memory:", "REDIS_URL": ""}
    first = manage("log_signing_key", "--dev", **env)
    assert first.returncode == 0 and "Generated a development signing key for the consent log" in first.stdout
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text()
    assert manage("log_signing_key", "--dev", **env).stdout == ""  # the next start keeps it
    assert key_file.read_text() == key
    vkey = manage("log_signing_key", **env).stdout.strip()
    name, key_hash, _ = key.strip().split("+", 4)[2:]
    assert vkey.startswith(f"{name}+{key_hash}+") and name == "portal.example/log"


def test_the_storage_location_is_an_iso_country_code_or_the_app_refuses_to_start():
    result = manage("check", DEBUG="true", DATABASE_URL="sqlite:///:memory:", DATA_STORAGE_COUNTRY="People's Republic of China")
    assert result.returncode != 0
    assert "DATA_STORAGE_COUNTRY=\"PEOPLE'S REPUBLIC OF CHINA\" is not an ISO 3166-1 alpha-2" in result.stderr
    assert manage("check", DEBUG="true", DATABASE_URL="sqlite:///:memory:", DATA_STORAGE_COUNTRY="hk").returncode == 0


def test_cached_sessions_without_a_shared_cache_refuse_to_start():
    """Each process's own memory would keep copies that a log-out or an erasure in another process leaves valid."""
    result = manage("check", DEBUG="true", REDIS_URL="", CACHE_URL="", SESSION_STORE="cached_db",
                    DATABASE_URL="sqlite:///:memory:")
    assert result.returncode != 0
    assert "SESSION_STORE=cached_db needs a shared cache" in result.stderr
    assert manage("check", DEBUG="true", REDIS_URL="", CACHE_URL="", SESSION_STORE="db",
                  DATABASE_URL="sqlite:///:memory:").returncode == 0


def test_a_worker_heartbeat_as_slow_as_its_alert_age_refuses_to_start():
    """Every heartbeat would come too late: /readyz would log an alert forever about workers that run fine."""
    result = manage("check", DEBUG="true", DATABASE_URL="sqlite:///:memory:", HEALTH_HEARTBEAT_SECONDS="60",
                    HEALTH_WORKER_MAX_AGE_SECONDS="60")
    assert result.returncode != 0
    assert "must be positive and shorter than HEALTH_WORKER_MAX_AGE_SECONDS (60 and 60 given)" in result.stderr
    assert manage("check", DEBUG="true", DATABASE_URL="sqlite:///:memory:", HEALTH_HEARTBEAT_SECONDS="30",
                  HEALTH_WORKER_MAX_AGE_SECONDS="90").returncode == 0
