"""Fixtures for the LLM gateway tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.llm.fake_llm import FakeLLMServer


@pytest.fixture
def fake_llm() -> Iterator[FakeLLMServer]:
    """A fake LLM server on loopback speaking both wires, started for the test and stopped after it."""
    with FakeLLMServer() as server:
        yield server
