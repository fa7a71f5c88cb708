"""Decide which backend trained a legacy file's kernels, and say how it was decided.

Theano computed a true convolution, TensorFlow a cross-correlation, so a Theano-trained
Conv1D kernel must be reversed to compute the same numbers here. In order of authority:
the user's `--source-backend`; the file's `backend` attribute (Keras >= 1.2 wrote it); a
`dim_ordering: "th"` / `image_dim_ordering: "th"` in the configs (Theano's default ordering);
the stored weight names (TensorFlow names variables `name:0`, Theano shared variables have
no `:0`). A file with none of these is taken as TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from converter.errors import LoadError

BACKENDS = ("tensorflow", "theano")


def mentions_th(value: Any) -> bool:
    """Whether a config tree sets dim_ordering / image_dim_ordering to "th"."""
    if isinstance(value, Mapping):
        return any(
            (k in ("dim_ordering", "image_dim_ordering") and v == "th") or mentions_th(v)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return any(mentions_th(v) for v in value)
    return False


def decide_backend(
    override: str | None,
    attribute: str | None,
    config: Mapping[str, Any],
    weight_names: Iterable[str],
) -> tuple[str, str]:
    """(backend, how it was decided) for a legacy Keras file."""
    if override is not None:
        if override not in BACKENDS:
            raise LoadError(f"--source-backend must be one of {BACKENDS}; received {override!r}")
        return override, "--source-backend given"
    if attribute:
        backend = attribute.lower()
        if backend not in BACKENDS:
            raise LoadError(
                f"the file's backend attribute is {attribute!r}; converter knows "
                f"{', '.join(BACKENDS)}: pass --source-backend to say which convention its "
                "kernels follow"
            )
        return backend, f"the file's backend attribute ({attribute!r})"
    if mentions_th(config):
        return "theano", "dim_ordering 'th' in the layer configs"
    names = [n for n in weight_names if n]
    if names:
        suffixed = sum(1 for n in names if n.rsplit("/", 1)[-1].split(":")[-1].isdigit()
                       and ":" in n)
        if suffixed == 0:
            return "theano", f"no ':0' suffix on any of {len(names)} weight names (Theano)"
        return "tensorflow", f"':0' suffixes on {suffixed} of {len(names)} weight names"
    return "tensorflow", "no backend attribute, dim ordering or weight names: TensorFlow assumed"
