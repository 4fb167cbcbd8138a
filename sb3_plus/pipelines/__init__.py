"""Whole pipelines in one call (the demo: expert -> dataset -> BC -> RL -> held-out evaluation)."""
