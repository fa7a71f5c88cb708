"""LiteRT's Interpreter with its default delegate (XNNPACK) on 2 threads."""

from __future__ import annotations

from typing import Any

import numpy as np

from converter.verify.runtimes.base import check_feeds


def output_number(name: str) -> tuple[int, str]:
    """Sort key of `output_<n>` signature names by n (others after, by name)."""
    head, _, tail = name.rpartition("_")
    return (int(tail), "") if head == "output" and tail.isdigit() else (1 << 30, name)


class TfliteXnnpack:
    """Runs the serving signature, so dynamic axes are resized per case."""

    name = "tflite-xnnpack"
    accepts = "tflite"
    install_hint = "pip install 'ai-edge-litert>=2.3,<2.4'"

    def __init__(self) -> None:
        self.runner: Any = None
        self.inputs: list[str] = []
        self.outputs: list[str] = []

    def load(self, path: str, loader: str) -> None:
        """Open the flatbuffer and its only signature."""
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=path, num_threads=2)
        signatures = interpreter.get_signature_list()
        key = next(iter(signatures))
        self.runner = interpreter.get_signature_runner(key)
        self.inputs = list(signatures[key]["inputs"])
        # Signature outputs are output_0..output_N, numbered in the artifact's output order.
        self.outputs = sorted(signatures[key]["outputs"], key=output_number)

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """One invocation; outputs follow the signature order (the graph's)."""
        check_feeds(self.name, sorted(self.inputs), dict(sorted(feeds.items())))
        result = self.runner(**feeds)
        return [np.asarray(result[name]) for name in self.outputs]
