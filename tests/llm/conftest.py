from __future__ import annotations

import pytest

from tests.llm.fake_llm import FakeLLMServer


@pytest.fixture
def fake_llm():
    with FakeLLMServer() as server:
        yield server
