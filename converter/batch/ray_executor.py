"""`converter batch --executor ray`: one conversion per Ray task, on a cluster or locally.

Each task runs `run_model` where Ray places it: the same cache lookup, the same worker
process per conversion, the same summary entry; the driver only gathers the entries, in
the batch file's order, and tells the listener as each ends. The models' files and the
output directory must be reachable from every node (a shared filesystem), as they are for
one machine. Ray is optional (`pip install 'converter[ray]'`): without it the option is a
usage error giving the install line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from converter.batch.config import BatchModel
from converter.errors import UsageError
from converter.report.progress import Silent, StageListener

INSTALL = "pip install 'converter[ray]'  (or: pip install 'ray>=2.9,<3')"


def ray_module() -> Any:
    """The ray package, or a usage error saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise UsageError(f"--executor ray: Ray is not installed here; {INSTALL}") from exc
    return ray


def convert_on_ray(model: BatchModel, use_cache: bool, cwd: str) -> dict[str, Any]:
    """A Ray task's body: one model's summary entry (progress stays on the driver).

    Relative paths in the batch file mean what they mean on the driver: the task works in
    the driver's directory (the same path on every node of a shared filesystem).
    """
    from converter.batch.run import run_model

    os.chdir(cwd)
    return run_model(model, use_cache, Silent())


def run_on_ray(models: Sequence[BatchModel], use_cache: bool, listener: StageListener,
               address: str | None) -> list[dict[str, Any]]:
    """Every model's entry, each converted by one Ray task.

    `address` None starts a local cluster for this batch (and stops it after).
    """
    ray = ray_module()
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    try:
        task = ray.remote(num_cpus=1)(convert_on_ray)
        cwd = os.getcwd()
        pending = {task.remote(model, use_cache, cwd): model for model in models}
        for model in models:
            listener.begin(model.name)
        done: dict[str, dict[str, Any]] = {}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            model = pending.pop(ready[0])
            done[model.name] = ray.get(ready[0])
            listener.end(model.name, "done")
        return [done[model.name] for model in models]
    finally:
        if started:
            ray.shutdown()
