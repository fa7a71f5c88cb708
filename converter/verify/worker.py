"""One runtime in its own process: `python -m converter.verify.worker REQUEST.json`.

A segfault or hang here cannot take the parent down: the parent reads the exit status
(negative = killed by a signal) and enforces the time limit. Exit 0 writes the outputs;
exit 3 means the runtime raised (the reason is the last stderr line, as JSON); exit 4 means
the runtime is not installed.
"""

from __future__ import annotations

import json
import os
import sys

EXIT_RAISED = 3
EXIT_UNAVAILABLE = 4


def main(request_path: str) -> int:
    """Load the artifact, run every case, save the outputs."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np

    from converter.verify.runtimes import availability, create

    with open(request_path) as handle:
        request = json.load(handle)
    missing = availability(request["runtime"])
    if missing:
        print(json.dumps({"reason": missing}), file=sys.stderr)
        return EXIT_UNAVAILABLE
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
            feeds = {name: arrays[f"{case}/{name}"] for name in request["input_names"]}
            for index, value in enumerate(runtime.run(feeds)):
                outputs[f"{case}/{index}"] = value
    except Exception as exc:  # any runtime failure is a reported result, not a crash of ours
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:400]
        print(json.dumps({"reason": reason}), file=sys.stderr)
        return EXIT_RAISED
    np.savez(request["outputs"], **outputs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
