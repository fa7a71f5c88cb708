"""Which share of a batch this process converts: `--shard i/n`, or `auto` from the engine.

CI matrices and Kubernetes Indexed Jobs run the same command N times and tell each run its
index: GitLab's `parallel:` sets CI_NODE_INDEX (1-based) and CI_NODE_TOTAL; a Kubernetes
Indexed Job sets JOB_COMPLETION_INDEX (0-based) and not the count, which comes from
`--shard-count` or CONVERTER_SHARD_COUNT (the Job's `completions`). GitHub Actions matrices
pass `--shard ${{ matrix.shard }}/N` explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping

from converter.errors import UsageError

ENGINES = ("GitLab CI_NODE_INDEX/CI_NODE_TOTAL, Kubernetes JOB_COMPLETION_INDEX with "
           "--shard-count or CONVERTER_SHARD_COUNT")


def parse_shard(text: str, environment: Mapping[str, str] | None = None,
                count: int | None = None) -> tuple[int, int]:
    """"i/n" (1 <= i <= n), or "auto" read from `environment`, as (i, n)."""
    if text == "auto":
        return from_engine(environment or {}, count)
    try:
        index, total = (int(part) for part in text.split("/"))
    except ValueError:
        index = total = 0
    if not 1 <= index <= total:
        raise UsageError(f"--shard {text}: give i/n with 1 <= i <= n, e.g. --shard 2/4, or "
                         f"--shard auto under a CI engine ({ENGINES})")
    return index, total


def from_engine(environment: Mapping[str, str], count: int | None) -> tuple[int, int]:
    """The shard an engine's variables name; a usage error naming what is missing."""
    if "CI_NODE_INDEX" in environment or "CI_NODE_TOTAL" in environment:
        return checked(environment.get("CI_NODE_INDEX"), environment.get("CI_NODE_TOTAL"),
                       "GitLab's CI_NODE_INDEX/CI_NODE_TOTAL", first=1)
    if "JOB_COMPLETION_INDEX" in environment:
        total = count if count is not None else environment.get("CONVERTER_SHARD_COUNT")
        if total is None:
            raise UsageError("--shard auto: a Kubernetes Indexed Job gives JOB_COMPLETION_INDEX "
                             "but not the count; pass --shard-count N (the Job's completions) "
                             "or set CONVERTER_SHARD_COUNT")
        return checked(environment["JOB_COMPLETION_INDEX"], str(total),
                       "Kubernetes' JOB_COMPLETION_INDEX", first=0)
    raise UsageError(f"--shard auto: none of the engine variables is set ({ENGINES}); "
                     "give --shard i/n")


def checked(index: str | None, total: str | None, source: str, first: int) -> tuple[int, int]:
    """(1-based index, count) from an engine's values, `first` being its first index."""
    try:
        position, count = int(str(index)) - first + 1, int(str(total))
    except ValueError:
        position = count = 0
    if not 1 <= position <= count:
        raise UsageError(f"--shard auto: {source} give index {index} of {total}, not a shard")
    return position, count
