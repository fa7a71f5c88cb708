"""One runtime in its own process: `python -m converter.verify.worker REQUEST.json`.

A segfault or hang here cannot take the parent down: the parent reads the exit status
(negative = killed by a signal) and enforces the time limit. Exit 0 writes the outputs;
exit 3 means the runtime raised (the reason is the last stderr line, as JSON); exit 4 means
the runtime is not installed.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

EXIT_RAISED = 3
EXIT_UNAVAILABLE = 4


def main(request_path: str) -> int:
    """Load the artifact, run every case, save the outputs."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np

    from converter.errors import NotApplicable
    from converter.verify.runtimes import availability, create

    with open(request_path) as handle:
        request = json.load(handle)
    missing = availability(request["runtime"])
    if missing:
        print(json.dumps({"reason": missing}), file=sys.stderr)
        return EXIT_UNAVAILABLE
    inject_fault(request["runtime"])
    runtime = create(request["runtime"])
    try:
        configure = getattr(runtime, "configure", None)
        if configure is not None:
            configure(request.get("custom_objects", []), request.get("allow_lambda", False))
        runtime.load(request["target"], request["loader"])
        with np.load(request["inputs"], allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        outputs = {}
        for case in range(request["cases"]):
            # Inputs are stored under the model's input names; the artifact may call them
            # otherwise (files made by other tools), in the same order.
            feeds = {feed: arrays[f"{case}/{name}"] for name, feed in
                     zip(request["input_names"], request["feed_names"], strict=True)}
            for index, value in enumerate(runtime.run(feeds)):
                outputs[f"{case}/{index}"] = value
    except NotApplicable as exc:
        print(json.dumps({"reason": f"cannot evaluate this model: {exc}"[:400]}),
              file=sys.stderr)
        return EXIT_UNAVAILABLE
    except Exception as exc:  # any runtime failure is a reported result, not a crash of ours
        lines = [x.strip(" └") for x in f"{type(exc).__name__}: {exc}".splitlines() if x.strip()]
        reason = " ".join(lines)[:400]
        print(json.dumps({"reason": reason}), file=sys.stderr)
        return EXIT_RAISED
    np.savez(request["outputs"], **outputs)
    facts = getattr(runtime, "facts", None)
    if facts is not None:
        with open(request["facts"], "w") as handle:
            json.dump(facts(), handle)
    return 0


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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
