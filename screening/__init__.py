"""The injection screen: pure functions that score text for prompt-injection signals (no app imports)."""
