"""sb3-plus: Stable-Baselines3 for hard, partially observed, sparse-reward games."""

__version__ = "0.1.0"
