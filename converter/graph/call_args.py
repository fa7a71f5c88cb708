"""How a call's tensors beyond its first argument are recorded: placeholders in its kwargs.

A `LayerCall` lists every tensor it reads in `inputs`, so graph order and consumers see them
all. A tensor passed as a keyword (MultiHeadAttention's `value=`, a TF-op layer's `y=`) or as
a later positional argument (`__args__`) stands in `kwargs` as `{"__tensor__": i}`, the
index of its entry in `inputs`. The first argument is the inputs no placeholder names, in
order; where it is not a tensor (`tf.subtract(1.0, x)` as tf.keras records it) it is kept
in `kwargs["__first__"]`. A pass that swaps one input for another keeps every index valid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

TENSOR = "__tensor__"
EXTRA_ARGS = "__args__"
FIRST = "__first__"


def is_placeholder(value: Any) -> bool:
    """Whether a kwargs value is one tensor's placeholder."""
    return isinstance(value, Mapping) and set(value) == {TENSOR}


def placeheld(value: Any) -> set[int]:
    """The input indices a (nested) kwargs value names."""
    if is_placeholder(value):
        return {int(value[TENSOR])}
    if isinstance(value, Mapping):
        return set().union(*(placeheld(v) for v in value.values()))
    if isinstance(value, (list, tuple)):
        return set().union(*(placeheld(v) for v in value))
    return set()


def first_indices(inputs: Sequence[Any], kwargs: Mapping[str, Any]) -> list[int]:
    """The indices of the inputs that form the first argument."""
    named = placeheld(dict(kwargs))
    return [i for i in range(len(inputs)) if i not in named]


def resolve(value: Any, values: Sequence[Any]) -> Any:
    """A kwargs value with each placeholder replaced by its input's value."""
    if is_placeholder(value):
        return values[int(value[TENSOR])]
    if isinstance(value, Mapping):
        return {k: resolve(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, values) for v in value]
    return value


def templated(value: Any, as_tensor: Callable[[Any], Any], refs: list[Any]) -> Any:
    """A call argument with each tensor appended to `refs` and replaced by its placeholder.

    `as_tensor` gives a value's ref, or None for a value that is no tensor.
    """
    ref = as_tensor(value)
    if ref is not None:
        refs.append(ref)
        return {TENSOR: len(refs) - 1}
    if isinstance(value, Mapping):
        return {k: templated(v, as_tensor, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [templated(v, as_tensor, refs) for v in value]
    return value


def call_arguments(inputs: Sequence[Any], list_input: bool,
                   kwargs: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """(positional arguments, keyword arguments) of one call, given its inputs' values."""
    first = [inputs[i] for i in first_indices(inputs, kwargs)]
    resolved = resolve(dict(kwargs), inputs)
    extra = list(resolved.pop(EXTRA_ARGS, []))
    if FIRST in resolved:
        return [resolved.pop(FIRST), *extra], resolved
    if not first:
        return extra, resolved
    return [first if list_input else first[0], *extra], resolved
