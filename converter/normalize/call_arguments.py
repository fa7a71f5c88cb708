"""Call arguments are part of the graph: training-mode calls, and keywords no pass knows.

Given: every call's keywords as the file recorded them (`training=True` on a Monte-Carlo
dropout, `mask=None`, MultiHeadAttention's `value=`).
Result: `training` and keywords given as None (their default) gone from every call, so the
exported graph is the deterministic inference form; each call that ran in training mode
where that changes what the layer computes (its catalogue entry's `training_mode`: dropout,
noise, a batch norm's batch statistics) noted. A keyword the layer's entry does not take
(`call_kwargs`) stops the load naming the layer and the keyword, all at once: dropping it
would change the numbers.
A class the catalogue does not know (a --custom-objects class) keeps its keywords.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from converter.artifacts import ModelGraph
from converter.errors import UnsupportedLayersError
from converter.graph.call_args import EXTRA_ARGS, FIRST
from converter.graph.passes import GraphResult, PassResult
from converter.layers import UNKNOWN, spec_of

# Keywords every class may be called with: Keras passes both to every layer.
EVERY_CLASS = frozenset({"training", "mask"})
DESCRIBED = {EXTRA_ARGS: "positional arguments after the first",
             FIRST: "a first argument that is not a tensor"}


@dataclass(frozen=True)
class TrainingCall:
    """A call recorded with training=True whose layer computes otherwise in training mode."""

    layer: str
    class_name: str
    effect: str

    @property
    def stochastic(self) -> bool:
        """Whether the call draws random numbers (dropout, noise), not batch statistics."""
        return "random" in self.effect


def training_calls(graph: ModelGraph) -> tuple[TrainingCall, ...]:
    """Every layer called with training=True whose class computes otherwise then."""
    return tuple(
        TrainingCall(layer.name, layer.class_name, spec_of(layer.class_name).training_mode)
        for layer in graph.layers
        if spec_of(layer.class_name).training_mode
        and any(call.kwargs.get("training") is True for call in layer.calls))


class CallArguments:
    """See the module docstring."""

    name = "call_arguments"

    def __call__(self, graph: ModelGraph) -> GraphResult:
        """Drop the keywords the inference form does without; refuse unknown ones."""
        unknown = [
            (layer.name, f"its call keyword {DESCRIBED.get(key, repr(key))}")
            for layer in graph.layers if spec_of(layer.class_name) is not UNKNOWN
            for key in dict.fromkeys(k for c in layer.calls for k, v in c.kwargs.items()
                                     if v is not None)  # None: the keyword's default
            if key not in EVERY_CLASS | spec_of(layer.class_name).call_kwargs]
        if unknown:
            raise UnsupportedLayersError(
                unknown, "converter does not know what these call arguments do to the layer, "
                "so it cannot export the same numbers; call the layer without them and save "
                "the model again")
        layers = tuple(replace(layer, calls=tuple(
            replace(call, kwargs={k: v for k, v in call.kwargs.items()
                                  if k != "training" and v is not None})
            for call in layer.calls)) for layer in graph.layers)
        if layers == graph.layers:
            return PassResult(graph, False)
        noted = tuple(
            f"{found.layer}: called with training=True, so it {found.effect} at inference in "
            "the source model; exported (and checked against the source run) in inference "
            "mode" for found in training_calls(graph))
        dropped = sum(a != b for x, y in zip(graph.layers, layers, strict=True)
                      for a, b in zip(x.calls, y.calls, strict=True))
        return PassResult(replace(graph, layers=layers), True, noted or (
            f"{dropped} calls: training and empty mask keywords dropped (the inference "
            "form computes without them)",))


PASS = CallArguments()
