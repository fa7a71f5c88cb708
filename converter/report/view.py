"""What a human reads in a report, as plain tables: the one source of Markdown and HTML.

The renderers differ only in markup; which facts appear, in which order and how numbers are
written is decided here once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from converter.artifacts import FAILURES
from converter.options import GPU_RUNTIMES


@dataclass(frozen=True)
class Table:
    """A titled table of text cells; `marks` gives each row's status (for colour) or ""."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    marks: tuple[str, ...] = ()


@dataclass(frozen=True)
class ErrorBar:
    """One check's worst error against its bound, for the error chart."""

    label: str
    max_abs: float | None
    atol: float | None
    status: str


@dataclass(frozen=True)
class ModelView:
    """One model: its verdict line, its tables, and the figures the charts draw."""

    name: str
    passed: bool
    exit_code: int
    verdict: str
    tables: tuple[Table, ...]
    errors: tuple[ErrorBar, ...]
    op_totals: tuple[tuple[str, int, int], ...]  # artifact, ops before passes, ops after
    depth: tuple[tuple[str, tuple[ErrorBar, ...]], ...] = ()  # artifact, error per layer


def figure(value: Any) -> str:
    """A number as the tables write it: 3 significant digits, '-' when absent."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if value == 0 or 1e-3 <= abs(value) < 1e4 else f"{value:.2e}"
    return str(value)


def verdict(entry: Mapping[str, Any]) -> str:
    """One line a release manager reads first: the outcome, then what qualifies it."""
    report = entry.get("report")
    if report is None:
        return f"NOT CONVERTED (exit {entry['exit_code']}): {entry.get('error', '')}"
    return "; ".join((outcome(report), *qualifiers(report)))


def outcome(report: Mapping[str, Any]) -> str:
    """Passed or not, and which checks did not."""
    checks = report["parity"]
    passed = sum(c["status"] == "passed" for c in checks)
    inconclusive = sum(c["status"] == "inconclusive" for c in checks)
    bad = [f"{c['runtime']} on {short(c['artifact'])}" + (
        " (inconclusive)" if c["status"] == "inconclusive" else "")
        for c in checks if c["status"] in FAILURES | {"inconclusive"}]
    if report["passed"]:
        skipped = sorted({c["runtime"] for c in checks if c["status"] == "skipped"})
        return f"PASSED: {passed} parity checks passed" + (
            f", {inconclusive} inconclusive (allowed)" if inconclusive else "") + (
            f", skipped: {', '.join(skipped)} (the report says why)" if skipped else "")
    if bad:
        return f"NOT PASSED (exit {report['exit_code']}): {len(bad)} of {len(checks)} " \
               f"checks did not pass: {', '.join(bad)}"
    skipped_names = [c["runtime"] for c in checks if c["status"] == "skipped"]
    return f"NOT PASSED (exit {report['exit_code']}): a required runtime could not run " \
           f"({', '.join(skipped_names) or report['reference']['status']})"


def qualifiers(report: Mapping[str, Any]) -> list[str]:
    """What the outcome does not say alone.

    A source that is random (or batch-dependent) at inference, disputed reference evaluators.
    """
    disputed = [f"{c['runtime']} on {short(c['artifact'])}" for c in report["parity"]
                if c["status"] == "disputed"]
    training = (report.get("training_mode") or {}).get("note")
    return ([training] if training else []) + (
        [f"runtimes disagree: {', '.join(disputed)} alone differs from the reference "
         "(disputed, reported without failing)"] if disputed else []) + [mobile_gpu(report)]


def mobile_gpu(report: Mapping[str, Any]) -> str:
    """Whether the mobile GPU path (LiteRT's GPU accelerator) was checked, and if not why."""
    checks = [c for c in report["parity"] if c["runtime"] in GPU_RUNTIMES]
    ran = [c for c in checks if c["status"] not in ("skipped", "crashed", "timeout")]
    if ran:
        runtimes = sorted({c["runtime"] for c in ran})
        files = sorted({short(c["artifact"]) for c in ran})
        return f"mobile GPU path checked ({', '.join(runtimes)} on {', '.join(files)})"
    if checks:
        return f"mobile GPU path not checked: {checks[0].get('reason') or checks[0]['status']}"
    return "mobile GPU path not checked (no litert-gpu runtime ran on a .tflite file)"


def short(artifact: str) -> str:
    """An artifact's file name."""
    return Path(artifact).name


def model_view(entry: Mapping[str, Any]) -> ModelView:
    """The tables and chart figures of one model entry (see documents.entries)."""
    report = entry.get("report")
    if report is None:
        return ModelView(entry["name"], False, entry["exit_code"], verdict(entry), (), (), ())
    checks = report["parity"]
    layers = report.get("per_layer") or {}
    tables = (matrix(checks), check_table(checks), artifact_table(report["artifacts"]),
              inputs_table(report["inputs"]), power_table(checks),
              *layer_tables(layers), *op_tables(report["artifacts"]),
              delegate_table(report["artifacts"]), pass_table(report["passes"]),
              provenance_table(report))
    errors = tuple(ErrorBar(f"{c['runtime']} · {short(c['artifact'])}", c.get("max_abs"),
                            (c.get("tolerance") or {}).get("atol"), c["status"])
                   for c in checks)
    totals = tuple((a["path"], sum(a.get("op_counts_before", {}).values()),
                    sum(a.get("op_counts", {}).values())) for a in report["artifacts"])
    depth = tuple((path, tuple(
        ErrorBar(f"{i + 1}. {row['layer']}", row["max_abs"],
                 (found.get("tolerance") or {}).get("atol"),
                 "passed" if row["within"] else "failed")
        for i, row in enumerate(found.get("layers", ())))) for path, found in layers.items())
    return ModelView(entry["name"], bool(report["passed"]), report["exit_code"], verdict(entry),
                     tables, errors, totals, depth)


def matrix(checks: Sequence[Mapping[str, Any]]) -> Table:
    """Runtime x artifact: each cell the status and the worst absolute error."""
    artifacts = list(dict.fromkeys(short(c["artifact"]) for c in checks))
    runtimes = list(dict.fromkeys(c["runtime"] for c in checks))
    cell = {(c["runtime"], short(c["artifact"])): c for c in checks}
    rows, marks = [], []
    for runtime in runtimes:
        row = [runtime]
        for artifact in artifacts:
            check = cell.get((runtime, artifact))
            row.append("" if check is None else
                       f"{check['status']} {figure(check.get('max_abs'))}".replace(" -", ""))
        rows.append(tuple(row))
        statuses = [cell[(runtime, a)]["status"] for a in artifacts if (runtime, a) in cell]
        marks.append(next((s for s in statuses if s in FAILURES), statuses[0] if statuses else ""))
    return Table("Parity matrix (status, max abs error)", ("runtime", *artifacts), tuple(rows),
                 tuple(marks))


def check_table(checks: Sequence[Mapping[str, Any]]) -> Table:
    """Every check with its numbers, its bound and why it did not pass."""
    rows = tuple(
        (c["runtime"], short(c["artifact"]), c["status"], figure(c.get("max_abs")),
         figure(logits_error(c)), figure(c.get("max_rel")),
         figure((c.get("tolerance") or {}).get("atol")), power(c), figure(c.get("seconds")),
         note(c))
        for c in checks)
    return Table("Parity checks", ("runtime", "artifact", "status", "max abs", "logits max abs",
                                   "max rel", "atol", "defects caught", "seconds", "note"),
                 rows, tuple(c["status"] for c in checks))


def logits_error(check: Mapping[str, Any]) -> float | None:
    """The worst error of the logits the check compared, if it compared any."""
    found = [o["logits"]["max_abs"] for o in check.get("outputs", ()) if o.get("logits")]
    return max(found) if found else None


def power(check: Mapping[str, Any]) -> str:
    """How many planted defects the check caught, as "caught/planted".

    "-" when power was off, "not measured" when the copies cost more than the check.
    """
    found = check.get("power")
    if not found or not found["planted"]:
        return "not measured" if found else "-"
    return f"{found['caught']}/{found['planted']}"


def inputs_table(inputs: Mapping[str, Any]) -> Table:
    """How the parity inputs were drawn, and whether each output carried information."""
    rows = [("source", str(inputs.get("source", "synthetic"))),
            ("rows", ", ".join(inputs.get("rows", ())) or "-"),
            ("how", str(inputs.get("note", "")))]
    for name, found in sorted((inputs.get("information") or {}).items()):
        logits = found.get("logits_informative")
        rows.append((f"output {name}", ("informative" if found["informative"] else
                                        f"not informative: {found['reason']}") + (
            "" if logits is None else f"; logits {'informative' if logits else 'constant'}")))
    return Table("Parity inputs", ("what", "value"), tuple(rows))


def power_table(checks: Sequence[Mapping[str, Any]]) -> Table:
    """Every planted defect and whether the check caught it; why a check has none."""
    rows = tuple((c["runtime"], short(c["artifact"]), d["defect"], figure(d["caught"]),
                  figure(d.get("max_abs")))
                 for c in checks for d in (c.get("power") or {}).get("defects", ()))
    marks = tuple("passed" if row[3] == "yes" else "failed" for row in rows)
    unmeasured = tuple((c["runtime"], short(c["artifact"]), c["power"]["note"], "-", "-")
                       for c in checks if (c.get("power") or {}).get("note"))
    rows, marks = rows + unmeasured, marks + ("",) * len(unmeasured)
    return Table("Detection power (planted defects)", ("runtime", "artifact", "defect",
                                                        "caught", "max abs"), rows, marks)


def layer_tables(layers: Mapping[str, Any]) -> list[Table]:
    """Per artifact, every layer's error against the reference (--per-layer)."""
    return [Table(f"Per-layer parity of {short(path)} ({found.get('note', '')})",
                  ("layer", "class", "tensor", "max abs", "max rel", "within"),
                  tuple((r["layer"], r["class_name"], r["tensor"], figure(r["max_abs"]),
                         figure(r["max_rel"]), figure(r["within"]))
                        for r in found.get("layers", ())),
                  tuple("passed" if r["within"] else "failed" for r in found.get("layers", ())))
            for path, found in layers.items()]


def note(check: Mapping[str, Any]) -> str:
    """Why a check did not pass, and where it first diverged when that was found.

    A check, or its planted copies, that read some rows only (`parity.sampling`) says which.
    """
    where = check.get("localization") or {}
    layer = f"first diverging layer {where['layer']} ({where.get('class_name', '')})" \
        if where.get("layer") else ""
    rows = (check.get("facts") or {}).get("rows", "") or (check.get("power") or {}).get(
        "rows", "")
    return "; ".join(part for part in (check.get("reason", ""), layer, rows) if part)


def artifact_table(artifacts: Sequence[Mapping[str, Any]]) -> Table:
    """Each file: format, precision, size, op count before and after the graph passes."""
    rows = tuple(
        (a["path"], a["format"], a.get("precision", ""), f"{a['bytes']:,}",
         figure(sum(a.get("op_counts_before", {}).values()) or None),
         figure(sum(a.get("op_counts", {}).values())), a.get("sha256", "")[:16])
        for a in artifacts)
    return Table("Artifacts", ("file", "format", "precision", "bytes", "ops before passes",
                               "ops", "sha256"), rows)


def op_tables(artifacts: Sequence[Mapping[str, Any]]) -> list[Table]:
    """Per artifact, each op kind's count before and after the graph passes."""
    tables = []
    for a in artifacts:
        before, after = a.get("op_counts_before", {}), a.get("op_counts", {})
        kinds = sorted(set(before) | set(after))
        rows = tuple((k, figure(before.get(k)) if before else "-", figure(after.get(k, 0)))
                     for k in kinds)
        passes = ", ".join(f"{name} {n}" for name, n in sorted(a.get("graph_passes", {}).items())
                           if n)
        title = f"Ops of {a['path']}" + (f" (graph passes: {passes})" if passes else "") + "".join(
            f". {note}" for note in a.get("lowerings", ()))
        tables.append(Table(title, ("op", "before passes", "after"), rows))
    return tables


def delegate_table(artifacts: Sequence[Mapping[str, Any]]) -> Table:
    """What the static delegate checks found per artifact (GPU placement, CoreML, Flex...)."""
    rows = []
    for a in artifacts:
        for key, value in sorted((a.get("delegates") or {}).items()):
            rows.append((a["path"], key, compact(value)))
    return Table("Delegate coverage", ("artifact", "check", "finding"), tuple(rows))


def compact(value: Any) -> str:
    """A finding as one line: lists joined, mappings as key=value."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={compact(v)}" for k, v in sorted(value.items())) or "none"
    if isinstance(value, (list, tuple)):
        return "x".join(map(str, value)) if all(isinstance(v, int) for v in value) and value \
            else (", ".join(compact(v) for v in value) or "none")
    return figure(value)


def pass_table(passes: Sequence[Mapping[str, Any]]) -> Table:
    """The normalisation passes that changed something, with what they changed."""
    rows = tuple((p["name"], change) for p in passes for change in p.get("changes", ()))
    return Table("Normalisation", ("pass", "change"), rows)


def provenance_table(report: Mapping[str, Any]) -> Table:
    """Source file and hash, reference, options and library versions."""
    source, reference = report["source"], report["reference"]
    rows = [("source", source["path"]), ("sha256", source.get("sha256", "")),
            ("format", f"{source['format']}, Keras {source['keras_version']}, "
                       f"backend {source.get('backend', '')}"),
            ("reference", f"{reference['runtime']} ({reference['status']}) "
                          f"{reference.get('reason', '')}".strip()),
            ("inputs", f"seed {report['inputs']['seed']}; " + "; ".join(
                compact(case) for case in report["inputs"]["cases"])),
            ("safety", report.get("safety", {}).get("note", ""))]
    rows += [(f"option {k}", compact(v)) for k, v in sorted(report["options"].items())]
    rows += [(f"version {k}", v) for k, v in sorted(report.get("versions", {}).items())]
    return Table("Provenance", ("what", "value"), tuple(rows))
