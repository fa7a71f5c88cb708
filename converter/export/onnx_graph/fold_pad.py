"""Pass: a zero Pad feeding a Conv -> the Conv's own `pads`.

Given: causal Conv1D and dilated "same" Conv1D are exported with an explicit zero Pad on the
length axis (TensorFlow has no asymmetric conv padding), which costs a copy of the
activation and is the node CoreML's EP cannot place.
Result: the Conv pads by itself; the Pad node is gone when nothing else reads it.
"""

from __future__ import annotations

import onnx_ir as ir

from converter.export.onnx_graph.layout import constant, int_list, is_op
from converter.export.onnx_graph.tail_padding import conv_pads
from converter.export.onnx_graph.values import required


def run(model: ir.Model) -> int:
    """Fold every foldable Pad; returns how many were folded."""
    graph, folded = model.graph, 0
    for node in list(graph):
        if not is_op(node, "Conv"):
            continue
        pad, perm = padding_source(node)
        amounts = zero_spatial_pads(pad, perm) if pad is not None else None
        if pad is None or amounts is None:
            continue
        auto_pad = node.attributes.get_string("auto_pad", "NOTSET")
        spatial = len(amounts) // 2 - 2
        own = own_pads(node, spatial)
        if own is None:
            continue
        begin = [a + b for a, b in zip(own[:spatial], amounts[2:2 + spatial], strict=True)]
        end = [a + b for a, b in zip(own[spatial:], amounts[4 + spatial:], strict=True)]
        node.attributes["pads"] = ir.AttrInt64s("pads", begin + end)
        if auto_pad != "NOTSET":
            node.attributes["auto_pad"] = ir.AttrString("auto_pad", "NOTSET")
        between = required(node).producer() if perm is not None else None
        unpadded = pad.inputs[0]
        if perm is not None:
            transpose = ir.node("Transpose", [unpadded], {"perm": list(perm)})
            graph.insert_before(node, transpose)
            unpadded = transpose.outputs[0]
        node.replace_input_with(0, unpadded)
        for dead in (between, pad):
            if dead is not None and not dead.outputs[0].uses() and not (
                    dead.outputs[0].is_graph_output()):
                graph.remove(dead, safe=True)
        folded += 1
    return folded


def own_pads(conv: ir.Node, spatial: int) -> list[int] | None:
    """A Conv's padding as explicit (begins, ends), or None where it depends on the length.

    "SAME" padding of a stride-1 1-D conv is its reach split around it (a channels_first
    Keras conv gets it from tf2onnx); with a stride it depends on the input length.
    """
    auto_pad = conv.attributes.get_string("auto_pad", "NOTSET")
    if spatial < 1:
        return None
    if auto_pad in ("NOTSET", "VALID"):
        return list(conv.attributes.get_ints("pads", [0] * (2 * spatial)))
    kernel = constant(conv.inputs[1]) if len(conv.inputs) > 1 else None
    strides = list(conv.attributes.get_ints("strides", [1] * spatial))
    if spatial != 1 or kernel is None or kernel.ndim != 3 or strides != [1]:
        return None
    reach = (kernel.shape[2] - 1) * conv.attributes.get_ints("dilations", [1])[0]
    return list(conv_pads(conv, reach))


def padding_source(conv: ir.Node) -> tuple[ir.Node | None, tuple[int, ...] | None]:
    """The Pad feeding a Conv directly, or through one Transpose (then with its perm)."""
    source = conv.inputs[0].producer() if conv.inputs[0] is not None else None
    if source is None or not is_op(source, "Transpose"):
        return source, None
    perm = source.attributes.get_ints("perm", None)
    before = source.inputs[0].producer() if source.inputs[0] is not None else None
    if perm is None or before is None:
        return None, None
    return before, tuple(perm)


def zero_spatial_pads(pad: ir.Node, perm: tuple[int, ...] | None = None) -> list[int] | None:
    """A constant zero Pad's amounts (in `perm` order) when it pads only axes 2 and on."""
    if not is_op(pad, "Pad"):
        return None
    if pad.attributes.get_string("mode", "constant") != "constant":
        return None
    amounts = int_list(pad, "pads", 1)
    if amounts is None or any(a < 0 for a in amounts):
        return None
    if len(pad.inputs) > 3 and pad.inputs[3] is not None:
        return None  # the axes input (opset 18) reorders amounts; rare, leave it
    fill: float | None = pad.attributes.get_float("value", 0.0)
    if len(pad.inputs) > 2 and pad.inputs[2] is not None:
        array = constant(pad.inputs[2])
        fill = None if array is None else float(array.reshape(-1)[0]) if array.size else 0.0
    rank = len(amounts) // 2
    if perm is not None:
        amounts = [amounts[p] for p in perm] + [amounts[rank + p] for p in perm]
    if fill != 0.0 or any(amounts[i] or amounts[rank + i] for i in (0, 1)):
        return None
    return amounts
