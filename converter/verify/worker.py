"""One runtime on one target, in a process of its own (a `process.worker` task).

A segfault or hang here cannot take the parent down (`runner.py` classifies it). The answer
is where the outputs were saved (an .npz keyed "<case>/<output>") and the runtime's facts;
a runtime that cannot run here, or cannot evaluate this model, raises NotApplicable.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def run(request: Mapping[str, Any], workdir: Path) -> dict[str, Any]:
    """Load the target, run every case, save the outputs."""
    import numpy as np

    from converter.errors import NotApplicable
    from converter.graph.serialize import save_arrays
    from converter.verify.runtimes import availability, create

    missing = availability(request["runtime"])
    if missing:
        raise NotApplicable(missing)
    inject_fault(request["runtime"])
    runtime = create(request["runtime"])
    runtime.configure(request.get("custom_objects", []), request.get("allow_lambda", False))
    try:
        runtime.load(request["target"], request["loader"])
    except NotApplicable as exc:
        raise NotApplicable(f"cannot evaluate this model: {exc}") from exc
    with np.load(request["inputs"], allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    outputs = {}
    for case in range(request["cases"]):
        # Inputs are stored under the model's input names; the artifact may call them
        # otherwise (files made by other tools), in the same order.
        feeds = {feed: arrays[f"{case}/{name}"] for name, feed in
                 zip(request["input_names"], request["feed_names"], strict=True)}
        try:
            results = runtime.run(feeds)
        except NotApplicable as exc:
            raise NotApplicable(f"cannot evaluate this model: {exc}") from exc
        for index, value in enumerate(results):
            outputs[f"{case}/{index}"] = value
    save_arrays(Path(request["outputs"]), outputs)
    return {"facts": runtime.facts()}


def inject_fault(runtime: str) -> None:
    """Fault injection for tests, so isolation is tested with the real worker.

    CONVERTER_INJECT_FAULT="<runtime>:segv" (or ":hang") makes that runtime's worker die by
    SIGSEGV (or hang) before it loads anything.
    """
    spec = os.environ.get("CONVERTER_INJECT_FAULT", "")
    target, _, fault = spec.partition(":")
    if target != runtime:
        return
    if fault == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if fault == "hang":
        time.sleep(3600)
