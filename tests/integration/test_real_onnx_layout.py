"""The native ONNX of every real model: Transposes only where an op needs them, no shape ops.

tf2onnx's own file for each real model of ../shared/real_models that converts, run through
the ONNX passes with the native lowering (every conv a 1-D Conv, the form other runtimes
get). Inside the graph a Transpose may stand only into or out of a recurrent op (one each:
onnxruntime's LSTM/GRU/RNN read and write sequence-major tensors only) or where the report
names an op that needs one axis order; no Shape-computing chain is left where every size is
known. Skipped where the corpus is absent.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import REAL_MODELS
from tests.integration.test_real_models import EXPECTED, manifest

pytestmark = [
    pytest.mark.tf,
    pytest.mark.skipif(not (REAL_MODELS / "MANIFEST.tsv").exists(), reason="corpus absent"),
]

PASSING = [(name, companion) for name, companion in manifest() if EXPECTED[name] == "passed"]
# Where a Transpose inside the graph is needed for another reason than a recurrent op, the
# op that needs it, per model. cnn1dvar's Keras Reshape regroups channels-last values
# ((4, 32) -> (8, 16)) before its LSTMs; sentweb's embedding Gather writes (N, W, C) and its
# conv reads (N, C, W). FactorNet's Keras 1 LSTMs (hard_sigmoid gates) are one
# bidirectional LSTM node per call (layers/recurrent_onnx), not Loops: only theirs stay.
NEEDED = {
    "cnn1dvar__CNN1D_Model_4H_LSTM.h5": {"between MaxPool and Reshape": 2},
    "sentweb__wordvec_cnn_weights.h5": {"between Gather and Conv": 1},
}
# keras-tcn's TCN without return_sequences keeps the last step ([:, -1, :]): the Slice and
# the Squeeze after it run channels-first, so no Transpose stays (tcnstock, climator).
SHAPE_OPS = ("Shape", "ConstantOfShape", "Size")


def stock_onnx(path: Path, arch: Path | None) -> bytes:
    """tf2onnx's file for a model, as converter's export stage writes it before its passes."""
    from converter.build import build_targets
    from converter.export.write import stock_onnx as exported
    from converter.graph.pipeline import prepare
    from converter.load import LoadOptions, load_path
    from converter.options import ConvertOptions

    loaded = load_path(path, LoadOptions(arch) if arch else None)
    graph = prepare(loaded.graph, ConvertOptions(to=("onnx",))).targets["onnx"]
    return exported(build_targets({"onnx": graph}, {}, False)["onnx"], graph, 17)


@pytest.mark.parametrize(("name", "companion"), PASSING, ids=[n for n, _ in PASSING])
def test_native_onnx_keeps_transposes_only_where_an_op_needs_them(name: str,
                                                                  companion: str) -> None:
    import onnx

    from converter.export.onnx_graph import lowerings, optimize
    from converter.export.onnx_graph.kept_transposes import RECURRENT

    data, counts = optimize(stock_onnx(REAL_MODELS / name,
                                       REAL_MODELS / companion if companion else None), "native")
    graph = onnx.load_from_string(data).graph
    kept: Counter[str] = Counter()
    for line in lowerings(counts, data):
        number, _, text = line.partition(" Transpose(s) kept ")
        kept[text.split(":")[0]] += int(number)
    recurrent = Counter(n.op_type for n in graph.node if n.op_type in RECURRENT)
    for kind, ops in recurrent.items():
        assert kept.pop(f"into {kind}", 0) <= ops and kept.pop(f"out of {kind}", 0) <= ops
    assert dict(kept) == NEEDED.get(name, {})
    shape_ops = [n.op_type for n in graph.node if n.op_type in SHAPE_OPS]
    assert not shape_ops and "Loop" not in {n.op_type for n in graph.node}, shape_ops
