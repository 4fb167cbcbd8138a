"""Image augmentations of training minibatches (RAD / DrAC style), for PPO updates and BC alike.

A zoo entry's ``augment: [shift, flip]`` names them; they apply, in the order given, to the image
observations of each minibatch the update (or BC) trains on, never to what the policy sees while it
collects rollouts or is evaluated. Off by default. Each is seeded and keeps the batch's shape and dtype:

- ``shift``: translate by up to ``pad`` pixels (4 at 64x64) in each direction, edges repeated (DrQ);
- ``crop``: a random crop of 85-100% of the side, resized back (bilinear);
- ``flip``: mirror left-right, half the samples (only for games that look the same mirrored);
- ``intensity``: scale by ``1 + 0.1 * N(0, 1)`` clipped to +-2 sigma, per sample (DrAC).

The Procgen competition log found these help some games (CoinRun with flip) and hurt others: measure.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch as th
import torch.nn.functional as F
from stable_baselines3.common.callbacks import BaseCallback

from sb3_plus.errors import BadOptionError

__all__ = ["AUGMENTATIONS", "AugmentMinibatches", "Augmenter", "check_augment"]


def _shift(x: th.Tensor, g: th.Generator) -> th.Tensor:
    n, _, h, w = x.shape
    pad = max(1, round(h / 16))
    padded = F.pad(x.float(), (pad, pad, pad, pad), mode="replicate")
    dx = th.randint(0, 2 * pad + 1, (n,), generator=g)
    dy = th.randint(0, 2 * pad + 1, (n,), generator=g)
    rows = (dy[:, None] + th.arange(h)[None, :]).to(x.device)  # (n, h)
    cols = (dx[:, None] + th.arange(w)[None, :]).to(x.device)  # (n, w)
    index = th.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    return out.to(x.dtype)


def _crop(x: th.Tensor, g: th.Generator) -> th.Tensor:
    n, _, h, w = x.shape
    scale = 0.85 + 0.15 * th.rand(n, generator=g)
    ox = (1 - scale) * (2 * th.rand(n, generator=g) - 1)
    oy = (1 - scale) * (2 * th.rand(n, generator=g) - 1)
    theta = th.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1], theta[:, 0, 2], theta[:, 1, 2] = scale, scale, ox, oy
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    out = F.grid_sample(x.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.round().clamp(0, 255).to(x.dtype) if not x.is_floating_point() else out


def _flip(x: th.Tensor, g: th.Generator) -> th.Tensor:
    which = (th.rand(x.shape[0], generator=g) < 0.5).to(x.device)
    return th.where(which[:, None, None, None], x.flip(-1), x)


def _intensity(x: th.Tensor, g: th.Generator) -> th.Tensor:
    noise = (1 + 0.1 * th.randn(x.shape[0], generator=g).clamp(-2, 2)).to(x.device)
    out = x.float() * noise[:, None, None, None]
    return out.round().clamp(0, 255).to(x.dtype) if not x.is_floating_point() else out


#: Name -> augmentation of a ``(N, C, H, W)`` image batch.
AUGMENTATIONS: dict[str, Callable[[th.Tensor, th.Generator], th.Tensor]] = {
    "shift": _shift, "crop": _crop, "flip": _flip, "intensity": _intensity}


def check_augment(names: Any) -> list[str]:
    """The augmentation names of an ``augment:`` value.

    :raises BadOptionError: a value that is not a list of known names.
    """
    if names is None:
        return []
    if isinstance(names, str) or not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise BadOptionError(f"augment must be a list of names, got {names!r}. Fix: write e.g. `augment: [shift, flip]`")
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise BadOptionError(f"unknown augmentation(s) {unknown}. Fix: use any of {', '.join(AUGMENTATIONS)}")
    return list(names)


class Augmenter:
    """Apply the named augmentations to image batches, seeded.

    :param names: names in :data:`AUGMENTATIONS`, applied in order.
    :param seed: seed of the random draws.
    """

    def __init__(self, names: Sequence[str], seed: int = 0) -> None:
        self.names = check_augment(list(names))
        self.generator = th.Generator().manual_seed(int(seed))

    def __bool__(self) -> bool:
        return bool(self.names)

    def __call__(self, obs: Any) -> Any:
        """``obs`` with its images augmented (a dict's image entries; non-image tensors unchanged)."""
        if isinstance(obs, dict):
            return {k: self(v) for k, v in obs.items()}
        if not isinstance(obs, th.Tensor) or obs.dim() != 4:
            return obs
        for name in self.names:
            obs = AUGMENTATIONS[name](obs, self.generator)
        return obs

    def wrap_buffer(self, buffer: Any) -> None:
        """Augment the observations of every minibatch ``buffer.get()`` yields (PPO's and RecurrentPPO's updates);
        the buffer itself, and so the rollouts and their returns, stay as collected."""
        if getattr(buffer, "_sb3plus_augmented", False):
            return
        plain = buffer.get

        def get(*args: Any, **kwargs: Any):
            for batch in plain(*args, **kwargs):
                yield batch._replace(observations=self(batch.observations))

        buffer.get = get
        buffer._sb3plus_augmented = True


class AugmentMinibatches(BaseCallback):
    """Augment the image observations of every minibatch of the algorithm's updates (a zoo entry's ``augment``).

    :param names: augmentation names.
    :param seed: seed of the random draws.
    """

    def __init__(self, names: Sequence[str], seed: int = 0) -> None:
        super().__init__()
        self.augmenter = Augmenter(names, seed)

    def _on_training_start(self) -> None:
        buffer = getattr(self.model, "rollout_buffer", None)
        if buffer is None:
            raise BadOptionError(f"augment works with on-policy algorithms (PPO, RecurrentPPO, A2C), not "
                                 f"{type(self.model).__name__}. Fix: remove augment from the config")
        self.augmenter.wrap_buffer(buffer)

    def _on_step(self) -> bool:
        return True
