"""The CLI's help and every TensorFlow-free module really import no TensorFlow, and the
help imports no parity runtime either (the registry is lazy)."""

from __future__ import annotations

import subprocess
import sys

TF_FREE = (
    "converter", "converter.cli", "converter.options", "converter.errors",
    "converter.artifacts", "converter.load", "converter.normalize", "converter.graph.interface",
    "converter.parity.compare", "converter.parity.inputs", "converter.parity.tolerances",
    "converter.parity.runtimes", "converter.report.schema", "converter.report.terminal",
    "converter.layers", "converter.graph.pipeline", "converter.inspection",
    "converter.reference", "converter.process.worker",
)


def python_prints(code: str) -> str:
    """Run code in a fresh interpreter (so nothing is imported yet) and return its output."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_library_modules_import_without_tensorflow() -> None:
    code = (
        "import importlib, sys\n"
        f"for m in {TF_FREE!r}: importlib.import_module(m)\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'tf_keras', 'tf2onnx', 'onnxruntime',"
        " 'ai_edge_litert') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    assert python_prints(code) == "[]"


def test_help_imports_no_tensorflow() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from converter.cli import main\n"
        "r1 = CliRunner().invoke(main, ['--help'])\n"
        "r2 = CliRunner().invoke(main, ['convert', '--help'])\n"
        "assert r1.exit_code == 0 and r2.exit_code == 0, (r1.output, r2.output)\n"
        "assert '--precision' in r2.output and '--opset' in r2.output\n"
        "runtimes = sorted(m for m in sys.modules if m.startswith('converter.parity.runtimes.')"
        " and m != 'converter.parity.runtimes.base')\n"
        "print('tensorflow' in sys.modules, runtimes)\n"
    )
    assert python_prints(code) == "False []"
