"""The production settings, serving also the two reference submits bench/submit.py compares against."""

from actionhub.settings import *  # noqa: F403

ROOT_URLCONF = "bench.submit_urls"
