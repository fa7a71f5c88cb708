#!/usr/bin/env bash
# Set up, then convert the bundled ECG sample model and say where everything went.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
model="sample_models/files/ecg_classifier.keras"
out="out/demo"
echo "demo: converting $model"
status=0
.venv/bin/converter convert "$model" -o "$out" || status=$?
echo "demo: artifacts in $out/ (ecg_classifier.tflite, ecg_classifier.onnx); report $out/report.json"
exit "$status"
