"""`--io-layout channels_last`: a channels_first model's files take and give channels_last.

The `channels_last` pass keeps the source's interface: a Permute after each input it
flipped and before each output it flipped back. With channels_last I/O those boundary
Permutes go, the inputs are declared (batch, steps, channels), and the graph records the
permutations so the parity stage feeds and reads the original model in its own layout.
"""

from __future__ import annotations

from dataclasses import replace

from converter.artifacts import Layer, ModelGraph, PassRecord

SWAP = (0, 2, 1)


def with_channels_last_io(graph: ModelGraph) -> tuple[ModelGraph, PassRecord]:
    """The graph without its boundary Permutes, and what changed."""
    inputs = {ref.layer for ref in graph.inputs}
    entry = {x.name: x.calls[0].inputs[0] for x in graph.layers
             if x.class_name == "Permute" and x.name.endswith("_to_channels_last")
             and x.calls and x.calls[0].inputs[0].layer in inputs
             and graph.consumers(x.calls[0].inputs[0].layer) == [x.name]}
    exit_ = {x.name: x.calls[0].inputs[0] for x in graph.layers
             if x.class_name == "Permute" and x.name.endswith("_to_channels_first")
             and any(r.layer == x.name for r in graph.outputs)
             and not graph.consumers(x.name)}
    changes = [f"{name}: removed, {ref.layer} is channels_last" for name, ref in entry.items()]
    changes += [f"{name}: removed, the output is channels_last" for name in exit_]
    swapped_inputs = {ref.layer for ref in entry.values()}
    layers: list[Layer] = []
    for layer in graph.layers:
        if layer.name in entry or layer.name in exit_:
            continue
        if layer.name in swapped_inputs:
            shape = list(layer.config["batch_shape"])
            layer = replace(layer, config={**layer.config,
                                           "batch_shape": [shape[0], shape[2], shape[1]]})
        calls = tuple(replace(c, inputs=tuple(entry.get(r.layer, r) for r in c.inputs))
                      for c in layer.calls)
        layers.append(replace(layer, calls=calls))
    outputs = tuple(exit_.get(ref.layer, ref) for ref in graph.outputs)
    new = replace(
        graph, layers=tuple(layers), outputs=outputs,
        input_permutations=tuple(SWAP if r.layer in swapped_inputs else None
                                 for r in graph.inputs),
        output_permutations=tuple(SWAP if r.layer in exit_ else None for r in graph.outputs))
    return new, PassRecord("io_layout_channels_last", bool(changes), tuple(changes))
