"""Fixtures for the chat tests: a loopback LLM server the settings point at."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.llm.fake_llm import FakeLLMServer


@pytest.fixture
def llm(settings) -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        settings.ACTIONHUB_LLM_URL = server.url
        settings.ACTIONHUB_LLM_API = "ollama"
        yield server
