"""Custom policy parts for SB3 (registered by name for RL-Zoo configs)."""

from sb3_plus.policies.impala_cnn import ImpalaCNN
from sb3_plus.policies.recurrent import RecurrentPPO, set_lstm_forget_bias
from sb3_plus.policies.small_cnn import SmallCNN

__all__ = ["ImpalaCNN", "RecurrentPPO", "SmallCNN", "set_lstm_forget_bias"]


def _register() -> None:
    try:
        from sb3_plus.config.registry import register_features_extractor
    except ImportError:  # config module not importable: names still resolve by import
        return
    register_features_extractor("SmallCNN", SmallCNN, overwrite=True)
    register_features_extractor("ImpalaCNN", ImpalaCNN, overwrite=True)


_register()
