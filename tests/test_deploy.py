"""Production settings pass Django's deployment checklist."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_it_passes_check_deploy_with_production_settings(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "actionhub.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "ACTIONHUB_VAR_DIR": str(tmp_path),
    }
    for name in ("DJANGO_SECURE_SSL_REDIRECT", "DJANGO_SECURE_COOKIES", "DJANGO_HSTS_SECONDS"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_without_a_secret_key_in_production(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "actionhub.settings",
        "DJANGO_DEBUG": "0",
        "ACTIONHUB_VAR_DIR": str(tmp_path),
    }
    env.pop("DJANGO_SECRET_KEY", None)
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_it_reads_the_secret_key_from_a_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(secrets.token_urlsafe(50) + "\n")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "actionhub.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY_FILE": str(key_file),
        "ACTIONHUB_VAR_DIR": str(tmp_path),
    }
    env.pop("DJANGO_SECRET_KEY", None)
    code = "import django; django.setup(); from django.conf import settings; print(len(settings.SECRET_KEY))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(len(key_file.read_text().strip()))


def settings_value(tmp_path, expression: str, **environ: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "actionhub.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "ACTIONHUB_VAR_DIR": str(tmp_path),
        **environ,
    }
    code = f"from django.conf import settings; print({expression})"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)


def test_it_reads_policy_overrides_from_the_environment(tmp_path):
    done = settings_value(
        tmp_path, "settings.ACTIONHUB_POLICY_OVERRIDES", ACTIONHUB_POLICY_OVERRIDES='{"api_call": "high"}'
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'api_call': 'high'}"
    refused = settings_value(
        tmp_path, "settings.ACTIONHUB_POLICY_OVERRIDES", ACTIONHUB_POLICY_OVERRIDES='{"api_call": "urgent"}'
    )
    assert refused.returncode != 0
    assert "ACTIONHUB_POLICY_OVERRIDES must map action types to one of low, medium, high, critical" in refused.stderr


def test_it_reads_the_database_password_from_a_file(tmp_path):
    secret = tmp_path / "postgres_password"
    secret.write_text("s3cret-from-file\n")
    done = settings_value(
        tmp_path,
        "settings.DATABASES['default']['PASSWORD'], settings.DATABASES['default']['USER']",
        DATABASE_URL="postgres://actionhub@db.internal:5432/actionhub",
        DATABASE_PASSWORD_FILE=str(secret),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "s3cret-from-file actionhub"
