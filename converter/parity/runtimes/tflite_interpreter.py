"""LiteRT's Interpreter: default delegate (XNNPACK), builtin kernels alone, reference kernels.

Three op resolvers of the same interpreter, because a release meets all of them: XNNPACK is
what apps get by default, the builtin kernels are what runs when a delegate declines an op,
and the reference kernels are the spec's plainest implementation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from converter.parity.runtimes.base import Accepts, Defaults, check_feeds


def output_number(name: str) -> tuple[int, str]:
    """Sort key of `output_<n>` signature names by n (others after, by name)."""
    head, _, tail = name.rpartition("_")
    return (int(tail), "") if head == "output" and tail.isdigit() else (1 << 30, name)


def output_keys(outputs: Mapping[str, int], order: Sequence[int]) -> list[str]:
    """A signature's output keys (key -> tensor index) in the order a runtime returns them.

    The stock converter's output_<n> keys (files from other tools) by n; keys that name the
    outputs (converter's files, `export.io_contract`) in the subgraph's output order.
    """
    if all(output_number(key)[0] < 1 << 30 for key in outputs):
        return sorted(outputs, key=output_number)
    position = {int(tensor): i for i, tensor in enumerate(order)}
    return sorted(outputs, key=lambda key: position.get(int(outputs[key]), len(position)))


def signature_outputs(interpreter: Any, key: str) -> list[str]:
    """The output keys of an interpreter's signature `key`, in the order runtimes return them."""
    mapping = interpreter._get_full_signature_list()[key]["outputs"]
    return output_keys(mapping, [d["index"] for d in interpreter.get_output_details()])


class TfliteXnnpack(Defaults):
    """Runs the serving signature, so dynamic axes are resized per case."""

    name = "tflite-xnnpack"
    accepts: Accepts = "tflite"
    install_hint = "pip install 'ai-edge-litert>=2.3,<2.4'"
    resolver = "AUTO"

    def __init__(self) -> None:
        self.runner: Any = None
        self.inputs: list[str] = []
        self.outputs: list[str] = []

    def load(self, path: str, loader: str) -> None:
        """Open the flatbuffer and its only signature."""
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        interpreter = Interpreter(model_path=path, num_threads=2,
                                  experimental_op_resolver_type=OpResolverType[self.resolver])
        signatures = interpreter.get_signature_list()
        key = next(iter(signatures))
        self.runner = interpreter.get_signature_runner(key)
        self.inputs = list(signatures[key]["inputs"])
        self.outputs = signature_outputs(interpreter, key)

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """One invocation; outputs follow the signature order (the graph's)."""
        check_feeds(self.name, sorted(self.inputs), dict(sorted(feeds.items())))
        result = self.runner(**feeds)
        return [np.asarray(result[name]) for name in self.outputs]


class TfliteBuiltin(TfliteXnnpack):
    """The builtin optimised kernels with no default delegate."""

    name = "tflite-builtin"
    resolver = "BUILTIN_WITHOUT_DEFAULT_DELEGATES"


class TfliteReference(TfliteXnnpack):
    """The reference kernels: slow, plain, the op set's own semantics."""

    name = "tflite-reference"
    resolver = "BUILTIN_REF"
    slow = True  # reference kernels (see Runtime)

    def load(self, path: str, loader: str) -> None:
        """Open the file; an op the reference kernels lack is their limit, not the file's.

        LiteRT's reference resolver has no ELU kernel, for one: the builtin and XNNPACK
        checks, which run every builtin op, still check such a file.
        """
        from converter.errors import NotApplicable

        try:
            super().load(path, loader)
        except ValueError as exc:
            missing = re.search(r"builtin opcode '(\w+)'", str(exc))
            if missing is None:
                raise
            raise NotApplicable(f"LiteRT's reference kernels lack {missing.group(1)}; the "
                                "builtin and XNNPACK checks run this file") from exc
