"""What every benchmark shares: where results go, the env, and how a result is saved."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

from sb3_plus.files import write_json_atomic
from sb3_plus.utils import set_torch_threads

RESULTS = Path("bench/results")
ENV = "VizdoomMyWayHome-v1"


def cpu_cores() -> int:
    """The cores this process may run on (fewer than the machine's under ``taskset``)."""
    return len(os.sched_getaffinity(0))


def arms_run(name: str, arms: Sequence[str], every: Sequence[str], command: str) -> tuple[str, str]:
    """The result name and command of a run of ``arms`` out of ``every``: a run of some arms only gets a
    file of its own (``<name>_<arm>_...``, so it does not replace the full comparison) and names them."""
    if set(arms) == set(every):
        return name, command
    return f"{name}_{'_'.join(arms)}", f"{command} --arms {' '.join(arms)}"


def save_result(name: str, data: dict[str, Any]) -> dict[str, Any]:
    data = {"benchmark": name, "cpu_count": os.cpu_count(), "cpu_cores": cpu_cores(),
            "torch_threads": set_torch_threads(), **data}
    write_json_atomic(RESULTS / f"{name}.json", data)
    print(json.dumps(data, indent=2, default=str), flush=True)
    return data
