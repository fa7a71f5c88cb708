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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from converter.parity.runtimes.base import Runtime


def run(request: Mapping[str, Any], workdir: Path) -> dict[str, Any]:
    """Load the target, run every case, save the outputs."""
    from converter.errors import NotApplicable
    from converter.graph.serialize import save_arrays
    from converter.parity.runtimes import availability, create

    missing = availability(request["runtime"])
    if missing:
        raise NotApplicable(missing)
    inject_fault(request["runtime"])
    arrays = loaded(request["inputs"])
    runtime = create(request["runtime"])
    outputs = run_all(runtime, request, request["target"], arrays, "")
    drift = 0.0 if runtime.slow else repeat_drift(runtime, request, arrays, outputs)
    # the copies read some rows of each case where `copy_inputs` is given (`sampling`)
    copies, note = planted(request, loaded(request["copy_inputs"])
                           if request.get("copy_inputs") else arrays)
    if request.get("logits"):
        outputs |= logits_of(request, arrays)
    save_arrays(Path(request["outputs"]), outputs | copies)
    return {"facts": runtime.facts() | ({"repeat_max_abs": drift} if drift else {}),
            "power_note": note}


def loaded(path: str) -> dict[str, Any]:
    """Every array of an .npz inputs file, by key."""
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def repeat_drift(runtime: Runtime, request: Mapping[str, Any], arrays: Mapping[str, Any],
                 outputs: Mapping[str, Any]) -> float:
    """Max abs change of the first case's outputs when it runs again, after every case.

    A stateless model gives the same outputs; a file that keeps state between invocations
    (TFLite's fused LSTM, whose state tensors hold the last call's final state) does not,
    and an app calling it twice gets other answers. Slow runtimes (reference kernels) skip
    it: the optimised ones run the same file.
    """
    import numpy as np

    again = runtime.run(case_feeds(request, arrays, 0))
    return max((float(np.max(np.abs(np.asarray(value, np.float64) - outputs[f"0/{index}"]),
                              initial=0.0))
                for index, value in enumerate(again)), default=0.0)


# Planted copies that take at most this long in all run by default, whatever the check took.
POWER_FREE_S = 2.0


def planted(request: Mapping[str, Any], arrays: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The same check on each planted copy ("copy<k>/<case>/<output>"), or why not.

    The first copy's time (imports done, a load and every case) is what each costs; with
    `budgeted` the rest run only if all of them cost less than the check itself, its process
    from its start (`started`) to here, or take at most POWER_FREE_S.
    """
    from converter.parity.runtimes import create

    paths = request.get("copies") or ()
    check = time.time() - float(request.get("started") or time.time())
    found: dict[str, Any] = {}
    for index, copy in enumerate(paths):
        began = time.perf_counter()
        found |= run_all(create(request["runtime"]), request, copy, arrays, f"copy{index}/")
        note = "" if index else power_cost(len(paths), request.get("budgeted", False), check,
                                           time.perf_counter() - began)
        if note:
            return {}, note
    return found, ""


def power_cost(copies: int, budgeted: bool, check: float, own: float) -> str:
    """Why `copies` planted copies are not run, or "" to run them.

    With `budgeted` (--power auto) they run only where they cost at most POWER_FREE_S or
    less than the check itself (`check` seconds, which a warm worker makes short): each
    costs `own`, what loading and running one took.
    """
    cost = copies * own
    if not copies or not budgeted or cost <= max(check, POWER_FREE_S):
        return ""
    return (f"not measured by default: its {copies} planted copies would take ~{cost:.2g} s, "
            f"more than the check itself ({check:.2g} s); --power full measures it")


def run_all(runtime: Runtime, request: Mapping[str, Any], target: str,
            arrays: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Every case through one runtime on one target, keyed "<prefix><case>/<output>"."""
    from converter.errors import NotApplicable

    runtime.configure(request.get("custom_objects", []), request.get("allow_lambda", False))
    outputs = {}
    try:
        runtime.load(target, request["loader"])
        for case in range(request["cases"]):
            for index, value in enumerate(runtime.run(case_feeds(request, arrays, case))):
                outputs[f"{prefix}{case}/{index}"] = value
    except NotApplicable as exc:
        raise NotApplicable(f"cannot evaluate this model: {exc}") from exc
    return outputs


def case_feeds(request: Mapping[str, Any], arrays: Mapping[str, Any],
               case: int) -> dict[str, Any]:
    """One case's inputs keyed by the artifact's feed names.

    Inputs are stored under the model's input names; the artifact may call them otherwise
    (files made by other tools), in the same order.
    """
    return {feed: arrays[f"{case}/{name}"] for name, feed in
            zip(request["input_names"], request["feed_names"], strict=True)}


def logits_of(request: Mapping[str, Any], arrays: Mapping[str, Any]) -> dict[str, Any]:
    """The reference's logits: its logits graph run in this process ("logits/<case>/<k>").

    A failure here leaves the logits out (the checks then say they could not be read).
    """
    from converter.parity.runtimes import create

    name, graph, first = request["logits"]
    try:
        found = run_all(create(name), {**request, "loader": "graph"}, graph, arrays, "")
    except Exception:  # noqa: BLE001 - optional evidence; the outputs stand without it
        return {}
    return {f"logits/{key.split('/')[0]}/{int(key.split('/')[1]) - first}": value
            for key, value in found.items() if int(key.split("/")[1]) >= first}


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
