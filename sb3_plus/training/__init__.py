"""Training runs: the run plan, the run folder, env building, callbacks, pretraining, and :func:`train`."""
