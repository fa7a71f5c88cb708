"""Planted defects: what a check proves it could catch.

A parity check that passes says the artifact matches the reference within tolerance on
these inputs; it does not say a wrong artifact would have failed. Copies of the artifact
with a small, known defect answer that: run through the same check, each one must fail.
The defects, smallest first:
- every weight of a middle weighted layer scaled by 1.001;
- one output channel of a middle weighted layer scaled by 1.01;
- one output channel of the last weighted layer scaled by 1.01;
- the bias of the last weighted layer that has a non-zero one, dropped.
The last layer's channel is the one with the largest weights. The middle layer is, of the
middle one and evenly spaced ones of the middle half (`middle_layers`), the one whose x1.001
moves the file's outputs the most on the parity inputs, and its channel, of its largest and
evenly spaced ones (`middle_candidates`), likewise the one whose x1.01 does (`Middle`,
measured by the probe): a layer and a channel those inputs reach, never a dead channel
whose change means nothing to the function.
Formats are read and written by `defects_tflite` and `defects_onnx` (no TensorFlow).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from converter.parity.editable import Editable, Weighted

SMALL, CHANNEL = 1.001, 1.01


@dataclass(frozen=True)
class Defect:
    """One planted copy: what was changed, and where the copy is."""

    kind: str
    description: str
    path: str


def opener(fmt: str) -> Callable[[Path], Editable]:
    """How to open an artifact of a format for editing."""
    if fmt == "tflite":
        from converter.parity.defects_tflite import TfliteEditable

        return TfliteEditable
    from converter.parity.defects_onnx import OnnxEditable

    return OnnxEditable


def short(name: str) -> str:
    """A layer's name without the op it ends in (a fused TFLite tensor: its first part)."""
    first = name.split(";")[0]
    return first.rsplit("/", 1)[0] if "/" in first else first


@dataclass(frozen=True)
class Group:
    """One Keras layer's weighted entries in a file (an unrolled LSTM: every step's)."""

    name: str
    entries: tuple[int, ...]
    channel_norms: np.ndarray
    biased: tuple[int, ...]  # the entries with a non-zero bias

    def drop_bias(self, editable: Editable) -> None:
        """Zero every entry's bias."""
        for entry in self.biased:
            editable.drop_bias(entry)

    def scale(self, editable: Editable, factor: float, channel: int | None = None) -> None:
        """Scale every entry's weights (one output channel's, or all)."""
        for entry in self.entries:
            editable.scale(entry, factor, channel)


def grouped(entries: list[Weighted], owner: Callable[[str], str | None]) -> list[Group]:
    """The file's weighted entries grouped by the Keras layer `owner` names for each.

    In order of first appearance; an entry without an owner, or whose channels differ from
    its owner's first entry, is a group of its own.
    """
    keys: dict[str, list[int]] = {}
    for index, entry in enumerate(entries):
        key = owner(entry.name) or f"#{index}"
        if key in keys and entries[keys[key][0]].channel_norms.shape != entry.channel_norms.shape:
            key = f"#{index}"
        keys.setdefault(key, []).append(index)
    return [Group(short(entries[at[0]].name) if key.startswith("#") else key, tuple(at),
                  np.sqrt(sum(entries[i].channel_norms ** 2 for i in at)),
                  tuple(i for i in at if entries[i].has_bias)) for key, at in keys.items()]


def middle_layers(layers: list[Group], count: int = 5) -> list[int]:
    """The layers worth trying as the middle one.

    The middle first, then evenly spaced ones of the middle half (the last layer has its
    own defects).
    """
    middle = len(layers) // 2
    low, high = len(layers) // 4, max(len(layers) // 4, (3 * len(layers)) // 4 - 1)
    spaced = [int(round(x)) for x in np.linspace(low, high, min(count, high - low + 1))]
    return list(dict.fromkeys([middle, *spaced]))


def middle_candidates(layers: list[Group], layer: int | None = None,
                      count: int = 6) -> list[int]:
    """A middle layer's channels worth trying: the largest, and evenly spaced ones."""
    norms = layers[len(layers) // 2 if layer is None else layer].channel_norms
    largest = [int(c) for c in np.argsort(-norms, kind="stable")[:count]]
    spaced = [int(c) for c in np.linspace(0, norms.size - 1, min(count, norms.size))]
    return list(dict.fromkeys(largest + spaced))


@dataclass(frozen=True)
class Middle:
    """Where the middle defects go: a layer, and one of its output channels."""

    layer: int
    channel: int


Edit = Callable[[Editable], None]


def plan(layers: list[Group], middle: Middle | None = None) -> list[tuple[str, str, Edit]]:
    """(kind, description, edit) of each defect this artifact can carry."""
    if not layers:
        return []
    last = layers[-1]
    top = int(np.argmax(last.channel_norms))
    if middle is None:
        middle = Middle(len(layers) // 2, middle_candidates(layers)[0])
    at, mid = layers[middle.layer], middle.channel
    if at is last and mid == top and last.channel_norms.size > 1:
        mid = int(np.argsort(at.channel_norms)[-2])  # one layer: another channel
    found: list[tuple[str, str, Edit]] = [
        ("layer", f"every weight of {at.name} (a middle weighted layer) x{SMALL}",
         lambda e: at.scale(e, SMALL)),
        ("middle channel", f"output channel {mid} of {at.name} (a middle weighted "
                           f"layer) x{CHANNEL}", lambda e: at.scale(e, CHANNEL, mid)),
        ("last channel", f"output channel {top} of {last.name} (the last weighted "
                         f"layer) x{CHANNEL}", lambda e: last.scale(e, CHANNEL, top)),
    ]
    biased = [layer for layer in layers if layer.biased]
    if biased:
        found.append(("bias", f"the bias of {biased[-1].name} dropped", biased[-1].drop_bias))
    return found


def plant(path: Path, fmt: str, folder: Path, layers: list[Group] | None = None,
          middle: Middle | None = None) -> list[Defect]:
    """Write one copy of the artifact per defect into `folder`; describe each.

    `layers`: its weighted entries grouped by layer (default: each entry a layer).
    """
    open_ = opener(fmt)
    defects = []
    if layers is None:
        layers = grouped(open_(path).weighted(), lambda name: None)
    for index, (kind, description, edit) in enumerate(plan(layers, middle)):
        copy = open_(path)
        edit(copy)
        target = folder / f"{path.stem}.defect{index}{path.suffix}"
        copy.save(target)
        defects.append(Defect(kind, description, str(target)))
    return defects
