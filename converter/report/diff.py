"""What changed between two reports (the last release's and this build's).

Parity that stopped passing, a model that stopped converting and an artifact that is no longer
produced are regressions; sizes, op counts, newly skipped runtimes and error growth within
tolerance are changes a reviewer should see but that do not fail the build.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from converter.artifacts import FAILURES
from converter.report.documents import entries
from converter.report.view import figure, short

GROWTH = 10.0  # a passing check whose error grew this many times is worth a line


@dataclass(frozen=True)
class Change:
    """One difference: kind is "regression", "improvement" or "change"."""

    model: str
    kind: str
    what: str


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every difference between the documents, model by model (matched by name)."""
    before = {e["name"]: e for e in entries(old)}
    after = {e["name"]: e for e in entries(new)}
    changes = [Change(name, "change", "no longer in the report") for name in before
               if name not in after]
    changes += [Change(name, "change", "new in the report") for name in after
                if name not in before]
    for name in (n for n in after if n in before):
        changes += model_changes(name, before[name], after[name])
    return changes


def model_changes(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Verdict, parity checks and artifacts of one model."""
    def change(kind: str, what: str) -> Change:
        return Change(name, kind, what)

    out: list[Change] = []
    if old["passed"] and not new["passed"]:
        out.append(change("regression", f"verdict PASSED -> NOT PASSED (exit {new['exit_code']})"
                          + (f": {new['error']}" if new.get("error") else "")))
    elif new["passed"] and not old["passed"]:
        out.append(change("improvement", f"verdict NOT PASSED (exit {old['exit_code']}) -> "
                                         "PASSED"))
    if old.get("report") is None or new.get("report") is None:
        return out
    out += [change(kind, what) for kind, what in check_changes(old["report"]["parity"],
                                                                new["report"]["parity"])]
    out += [change(kind, what) for kind, what in artifact_changes(old["report"]["artifacts"],
                                                                   new["report"]["artifacts"])]
    return out


def check_changes(old: list[Mapping[str, Any]], new: list[Mapping[str, Any]]
                  ) -> list[tuple[str, str]]:
    """Parity checks matched by runtime and artifact file name."""
    def keyed(checks: list[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
        return {f"{c['runtime']} on {short(c['artifact'])}": c for c in checks}

    before, after = keyed(old), keyed(new)
    out = [("change", f"{key}: no longer checked") for key in before if key not in after]
    out += [("change", f"{key}: new check, {after[key]['status']}") for key in after
            if key not in before]
    for key in (k for k in after if k in before):
        was, now = before[key], after[key]
        numbers = f"max abs {figure(was.get('max_abs'))} -> {figure(now.get('max_abs'))}"
        lost = caught(was) > caught(now)
        if was["status"] == "passed" and now["status"] in FAILURES | {"inconclusive"}:
            out.append(("regression", f"{key}: passed -> {now['status']} ({numbers}) "
                                      f"{now.get('reason', '')}".rstrip()))
        elif was["status"] in FAILURES and now["status"] == "passed":
            out.append(("improvement", f"{key}: {was['status']} -> passed ({numbers})"))
        elif now["status"] == "skipped" and was["status"] != "skipped":
            out.append(("change", f"{key}: newly skipped ({now.get('reason', '')})"))
        elif was["status"] != now["status"]:
            out.append(("change", f"{key}: {was['status']} -> {now['status']}"))
        elif grew(was.get("max_abs"), now.get("max_abs")):
            out.append(("change", f"{key}: error grew ({numbers}), still {now['status']}"))
        if lost:
            out.append(("regression", f"{key}: catches fewer planted defects "
                                      f"({caught(was)} -> {caught(now)})"))
    return out


def caught(check: Mapping[str, Any]) -> int:
    """How many planted defects a check caught (0 when none were planted)."""
    return int((check.get("power") or {}).get("caught", 0))


def grew(was: Any, now: Any) -> bool:
    """Whether an error grew by GROWTH times or more (a zero error growing counts)."""
    if not isinstance(was, (int, float)) or not isinstance(now, (int, float)):
        return False
    return now > 0 and now >= GROWTH * max(was, 1e-12)


def artifact_changes(old: list[Mapping[str, Any]], new: list[Mapping[str, Any]]
                     ) -> list[tuple[str, str]]:
    """Artifacts matched by file name: gone, new, size and op counts."""
    before = {a["path"]: a for a in old}
    after = {a["path"]: a for a in new}
    out = [("regression", f"{path}: no longer produced") for path in before if path not in after]
    out += [("change", f"{path}: new artifact, {after[path]['bytes']:,} bytes") for path in after
            if path not in before]
    for path in (p for p in after if p in before):
        was, now = before[path], after[path]
        if was["bytes"] != now["bytes"]:
            percent = 100.0 * (now["bytes"] - was["bytes"]) / max(was["bytes"], 1)
            out.append(("change", f"{path}: size {was['bytes']:,} -> {now['bytes']:,} bytes "
                                  f"({percent:+.1f}%)"))
        elif was.get("sha256") != now.get("sha256"):
            out.append(("change", f"{path}: content changed, same size"))
        ops = op_delta(was.get("op_counts", {}), now.get("op_counts", {}))
        if ops:
            total = f"{sum(was.get('op_counts', {}).values())} -> " \
                    f"{sum(now.get('op_counts', {}).values())}"
            out.append(("change", f"{path}: ops {total} ({ops})"))
    return out


def op_delta(old: Mapping[str, int], new: Mapping[str, int]) -> str:
    """Each op kind whose count changed, as 'KIND a->b'."""
    kinds = sorted(set(old) | set(new))
    return ", ".join(f"{k} {old.get(k, 0)}->{new.get(k, 0)}" for k in kinds
                     if old.get(k, 0) != new.get(k, 0))


def render_diff(changes: list[Change]) -> str:
    """The changes as text, regressions first; a closing count line."""
    order = {"regression": 0, "improvement": 1, "change": 2}
    lines = [f"{c.kind.upper()} {c.model}: {c.what}"
             for c in sorted(changes, key=lambda c: order[c.kind])]
    regressions = sum(c.kind == "regression" for c in changes)
    lines.append(f"{regressions} regression(s), {len(changes) - regressions} other change(s)"
                 if changes else "no changes")
    return "\n".join(lines) + "\n"
