"""`--io-layout channels_last`: a channels_first model's files take and give channels_last.

The `channels_last` pass keeps the source's interface: a Permute after each input it
flipped and before each output it flipped back. With channels_last I/O those boundary
Permutes go, the inputs are declared (batch, steps, channels), and the graph records the
permutations so the parity stage feeds and reads the original model in its own layout.
"""

from __future__ import annotations

from dataclasses import replace

from converter.artifacts import Layer, ModelGraph
from converter.graph.passes import GraphResult, PassResult
from converter.normalize.channels_last import boundary_permute

SWAP = (0, 2, 1)


class ChannelsLastIO:
    """The pass object `--io-layout channels_last` adds (see the module docstring)."""

    name = "io_layout_channels_last"

    def __call__(self, graph: ModelGraph) -> GraphResult:
        """The graph without its boundary Permutes."""
        return channels_last_io(graph)


def channels_last_io(graph: ModelGraph) -> GraphResult:
    """The graph without its boundary Permutes, and what changed."""
    inputs = {ref.layer for ref in graph.inputs}
    entry = {x.name: x.calls[0].inputs[0] for x in graph.layers
             if boundary_permute(x, "channels_last")
             and x.calls and x.calls[0].inputs[0].layer in inputs
             and graph.consumers(x.calls[0].inputs[0].layer) == [x.name]}
    exit_ = {x.name: x.calls[0].inputs[0] for x in graph.layers
             if boundary_permute(x, "channels_first")
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
    # A boundary already swapped (this pass ran before) keeps its permutation.
    before_in = graph.input_permutations or (None,) * len(graph.inputs)
    before_out = graph.output_permutations or (None,) * len(graph.outputs)
    new = replace(
        graph, layers=tuple(layers), outputs=outputs,
        input_permutations=tuple(SWAP if r.layer in swapped_inputs else old
                                 for r, old in zip(graph.inputs, before_in, strict=True)),
        output_permutations=tuple(SWAP if r.layer in exit_ else old
                                  for r, old in zip(graph.outputs, before_out, strict=True)))
    return PassResult(new, bool(changes), tuple(changes))
