"""Every knob of RND in one place, with its default and what it does (defaults after Burda et al. 2018)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from sb3_plus.errors import BadOptionError

__all__ = ["RNDSettings"]


@dataclass(frozen=True)
class RNDSettings:
    """The hyperparameters RND adds to PPO / RecurrentPPO (PPO's own ``gamma`` is the extrinsic discount).

    :param int_coef: weight of the intrinsic advantages in ``ext_coef * A_ext + int_coef * A_int`` (>= 0)
    :param ext_coef: weight of the extrinsic advantages (>= 0; not both 0)
    :param int_gamma: discount of the intrinsic return, which ignores episode ends, in [0, 1]
    :param update_proportion: chance that a sample of a minibatch trains the predictor, in (0, 1]
        (with many envs the predictor would otherwise learn too fast and the bonus vanish)
    :param norm_init_steps: env steps (summed over envs) of random actions that initialise the
        observation normaliser before the first rollout (0: start from mean 0, std 1)
    :param rnd_features_dim: output width of the random target and of the predictor
    """

    int_coef: float = 1.0
    ext_coef: float = 2.0
    int_gamma: float = 0.99
    update_proportion: float = 0.25
    norm_init_steps: int = 2048
    rnd_features_dim: int = 512

    def check(self) -> RNDSettings:
        """:raises BadOptionError: naming the setting, its value and the fix. :return: ``self``."""
        for name in ("int_coef", "ext_coef"):
            value = getattr(self, name)
            if not _finite(value) or value < 0:
                raise BadOptionError(f"RND setting {name}={value!r} must be a finite number >= 0. "
                                     f"Fix: use e.g. {name}={getattr(RNDSettings, name)}")
        if self.int_coef == 0 and self.ext_coef == 0:
            raise BadOptionError("RND settings int_coef and ext_coef are both 0, so no advantage would be left. "
                                 "Fix: make at least one positive (defaults: int_coef=1, ext_coef=2)")
        if not _finite(self.int_gamma) or not 0 <= self.int_gamma <= 1:
            raise BadOptionError(f"RND setting int_gamma={self.int_gamma!r} is not a discount in [0, 1]. "
                                 "Fix: use e.g. int_gamma=0.99")
        if not _finite(self.update_proportion) or not 0 < self.update_proportion <= 1:
            raise BadOptionError(f"RND setting update_proportion={self.update_proportion!r} is outside (0, 1]: it is "
                                 "the chance that a sample trains the predictor. Fix: use e.g. update_proportion=0.25 "
                                 "(1 trains on every sample)")
        for name, low in (("norm_init_steps", 0), ("rnd_features_dim", 1)):
            value = getattr(self, name)
            if not _whole(value) or value < low:
                raise BadOptionError(f"RND setting {name}={value!r} must be a whole number >= {low}. "
                                     f"Fix: use e.g. {name}={getattr(RNDSettings, name)}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The settings as keyword arguments."""
        return asdict(self)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value: Any) -> bool:
    return _finite(value) and float(value).is_integer()
