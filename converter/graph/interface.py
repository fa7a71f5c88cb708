"""A graph's external interface: input specs and output names, shared by export and verify."""

from __future__ import annotations

import math
import re

from converter.artifacts import InputSpec, ModelGraph
from converter.layers import spec_of

INTEGER_DTYPES = ("int8", "int16", "int32", "int64", "uint8")


def safe_name(name: str) -> str:
    """A name TensorFlow accepts for placeholders and signature keys (and ONNX keeps)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]", "_", name)
    return cleaned if re.match(r"[A-Za-z0-9.]", cleaned) else f"t{cleaned}"


def input_specs(graph: ModelGraph) -> tuple[InputSpec, ...]:
    """One InputSpec per model input, with token ranges for inputs that feed an Embedding."""
    specs = []
    for ref in graph.inputs:
        layer = graph.layer(ref.layer)
        shape = tuple(None if d is None else int(d) for d in layer.config["batch_shape"])
        dtype = str(layer.config.get("dtype") or "float32")
        embeddings = [
            graph.layer(name) for name in graph.consumers(ref.layer)
            if graph.layer(name).class_name == "Embedding"
        ]
        int_range = None
        if embeddings:
            int_range = (0, min(int(e.config["input_dim"]) for e in embeddings))
            if dtype not in INTEGER_DTYPES:
                dtype = "int32"
        specs.append(InputSpec(safe_name(layer.name), (graph.fixed_batch, *shape[1:]), dtype,
                               int_range))
    return tuple(specs)


def output_names(graph: ModelGraph) -> tuple[str, ...]:
    """A unique, TF-safe name per model output: the producing layer's name, suffixed if needed."""
    names: list[str] = []
    for ref in graph.outputs:
        base = safe_name(ref.layer)
        if ref.call_index or ref.tensor_index:
            base = f"{base}_{ref.call_index}_{ref.tensor_index}"
        name, n = base, 1
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return tuple(names)


def shortest_length(graph: ModelGraph) -> int:
    """A sequence length every dynamic-length path of the graph can take (conservative).

    The sum, over all layers, of the steps each can remove (cropping, valid convolution and
    pooling windows: each catalogue entry's `reach`), times the product of all strides:
    SpliceAI crops 5,000 steps from each side, so its parity inputs must be longer than 10,000.
    """
    removed = sum(spec_of(layer.class_name).reach(layer.config)[0] for layer in graph.layers)
    return removed * total_stride(graph)


def total_stride(graph: ModelGraph) -> int:
    """The product of every layer's stride over the length (each catalogue entry's `reach`)."""
    return math.prod(max(1, spec_of(x.class_name).reach(x.config)[1]) for x in graph.layers)
