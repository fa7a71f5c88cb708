"""The HTML rendering: one self-contained page (no script, no remote style or font).

Verdict first, then per model the parity matrix, the error chart, op counts, delegate
coverage and provenance. Styles are inline in the page and sized for a phone screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from converter.artifacts import FAILURES
from converter.report.charts import error_chart, op_chart
from converter.report.documents import entries
from converter.report.view import ModelView, Table, model_view

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
padding:12px;color:#212121;max-width:1100px}
h1{font-size:1.35em}h2{font-size:1.15em;margin-top:1.6em}h3{font-size:1em}
.verdict{padding:10px 14px;border-radius:6px;font-weight:600;color:#fff}
.pass{background:#2e7d32}.fail{background:#c62828}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;margin:6px 0 14px;font-size:.9em}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f5f5f5}tr.bad td{background:#ffebee}tr.skipped td{color:#757575}
.chart{width:100%;height:auto;max-width:760px}
.chart .label,.chart .axis{font:13px sans-serif;fill:#424242}
.chart .grid{stroke:#e0e0e0}.chart .bound{stroke:#000;stroke-width:2}
details{margin:4px 0}summary{cursor:pointer}
"""


def render_html(document: Mapping[str, Any]) -> str:
    """The whole page; models after an overview when there are several."""
    models = [model_view(entry) for entry in entries(document)]
    passed = bool(document["passed"])
    headline = "PASSED" if passed else f"NOT PASSED (exit {document['exit_code']})"
    body = [f'<h1>Parity report: {escape(", ".join(m.name for m in models[:3]))}'
            f'{" and more" if len(models) > 3 else ""}</h1>',
            f'<p class="verdict {"pass" if passed else "fail"}" id="verdict">{headline}</p>']
    if len(models) > 1:
        body.append(table(Table("Models", ("model", "exit", "verdict"), tuple(
            (m.name, str(m.exit_code), m.verdict) for m in models),
            tuple("passed" if m.passed else "failed" for m in models))))
    body += [section(m) for m in models]
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>Parity report: {escape(headline)}</title><style>{STYLE}</style></head>'
            f'<body>{"".join(body)}</body></html>\n')


def section(model: ModelView) -> str:
    """One model: verdict, matrix, charts, then the long tables folded."""
    kind = "pass" if model.passed else "fail"
    parts = [f'<section id="model-{escape(model.name)}"><h2>{escape(model.name)}</h2>',
             f'<p class="verdict {kind}">{escape(model.verdict)}</p>']
    if not model.tables:
        return "".join(parts) + "</section>"
    matrix, checks, artifacts, *rest = model.tables
    parts += [table(matrix), "<h3>Error per runtime and precision</h3>",
              error_chart(model.errors), table(checks), table(artifacts),
              "<h3>Op counts before and after the graph passes</h3>", op_chart(model.op_totals)]
    for artifact, layers in model.depth:
        parts += [f"<h3>Error through depth: {escape(artifact)}</h3>", error_chart(layers)]
    for extra in rest:
        if extra.rows:
            parts.append(f"<details><summary>{escape(extra.title)} ({len(extra.rows)} rows)"
                         f"</summary>{table(extra, titled=False)}</details>")
    return "".join(parts) + "</section>"


def table(data: Table, titled: bool = True) -> str:
    """An HTML table in a horizontally scrolling box; failed rows marked."""
    head = "".join(f"<th>{escape(h)}</th>" for h in data.headers)
    rows = []
    for index, cells in enumerate(data.rows):
        mark = data.marks[index] if index < len(data.marks) else ""
        kind = ' class="bad"' if mark in FAILURES else (
            ' class="skipped"' if mark in ("skipped", "inconclusive", "disputed") else "")
        rows.append(f"<tr{kind}>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    title = f"<h3>{escape(data.title)}</h3>" if titled else ""
    return f'{title}<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>' \
           f'{"".join(rows)}</tbody></table></div>'
