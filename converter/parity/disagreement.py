"""When the runtimes of one file disagree with each other, say so, and whose word to doubt.

A file every runtime finds wrong is a wrong file. A file some runtimes find right and others
wrong is a disagreement between runtimes: the report says "runtimes disagree on <file>" and
names both sides, so nobody debugs a right conversion. A plain reference evaluator
(onnx-reference, tflite-reference, the NumPy interpreter) that fails alone, while every other
runtime of the same file passes, is `disputed` when it ran by default: reported, exit code
unchanged. Asked for by name, its failure still fails the run (the user wants its word).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

from converter.artifacts import ParityCheck
from converter.parity.runtimes import create

JUDGED = ("passed", "failed")


def disagreements(checks: Sequence[ParityCheck]) -> list[dict[str, Any]]:
    """Per file whose judged runtimes split: who agrees with the reference, who does not."""
    found = []
    for artifact in dict.fromkeys(c.artifact for c in checks):
        judged = [c for c in checks if c.artifact == artifact and c.status in JUDGED]
        agree = [c.runtime for c in judged if c.status == "passed"]
        differ = [c.runtime for c in judged if c.status == "failed"]
        if agree and differ:
            found.append({"artifact": artifact, "agree": agree, "differ": differ})
    return found


def settled(checks: Sequence[ParityCheck], named: Collection[str]) -> tuple[ParityCheck, ...]:
    """The checks with each disagreement said, and lone default reference evaluators disputed.

    A reference evaluator that alone disagrees with every other runtime of its file becomes
    `disputed` unless it is in `named`, the runtimes the user asked for by name.
    """
    split = {d["artifact"]: d for d in disagreements(checks)}
    out = []
    for check in checks:
        found = split.get(check.artifact)
        if found is None or check.status != "failed":
            out.append(check)
            continue
        lone = found["differ"] == [check.runtime]
        says = (f"runtimes disagree on {check.artifact}: {', '.join(found['differ'])} "
                f"{'differs' if lone else 'differ'} from the reference, "
                f"{', '.join(found['agree'])} agree with it")
        if lone and check.runtime not in named and create(check.runtime).slow:
            out.append(replace(check, status="disputed", reason=(
                f"{says}; {check.runtime} is a plain reference evaluator, so its result is "
                f"reported and does not fail the run ({check.reason})")))
        else:
            out.append(replace(check, reason=f"{says}; {check.reason}"))
    return tuple(out)
