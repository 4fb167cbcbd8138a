"""Training runs: the run plan, the run folder, env building, callbacks, pretraining, and :func:`train`.

- ``plan``: options + zoo config + overrides + fine-tune merge -> a :class:`RunPlan` (pure).
- ``run_folder``: create, find and write the run folder.
- ``envs``: training and evaluation envs, built the same way.
- ``callbacks``: evaluation on validation seeds, atomic checkpoints, the wall budget.
- ``pretrain``: BC / DAgger / GAIL / AIRL before RL.
- ``finetune`` (+ ``finetune_recurrent``): RL after pretraining with a critic-only start and a KL anchor.
- ``run``: :func:`train`, the phases in order.
"""

from sb3_plus.training.plan import RunPlan, TrainOptions, resolve_run
from sb3_plus.training.pretrain import PRETRAIN_METHODS, PRETRAIN_SETTINGS
from sb3_plus.training.run import TrainResult, train

__all__ = ["PRETRAIN_METHODS", "PRETRAIN_SETTINGS", "RunPlan", "TrainOptions", "TrainResult", "resolve_run", "train"]
