"""The callback secret comes from the environment or from a file, as the other secrets do."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_it_reads_the_callback_secret_from_a_file(tmp_path):
    secret = secrets.token_urlsafe(32)
    secret_file = tmp_path / "callback-secret"
    secret_file.write_text(secret + "\n")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "actionhub.settings",
        "DJANGO_DEBUG": "1",
        "ACTIONHUB_VAR_DIR": str(tmp_path),
        "ACTIONHUB_CALLBACK_SECRET_FILE": str(secret_file),
    }
    env.pop("ACTIONHUB_CALLBACK_SECRET", None)
    code = "import django; django.setup(); from django.conf import settings; print(settings.ACTIONHUB_CALLBACK_SECRET)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == secret
