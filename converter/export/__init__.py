"""Export stage: the normalised graph -> artifact files (.tflite per precision, .onnx).

`graph_passes/` shape the graph for export, `write.export` builds nothing itself: it takes
the built Keras models and writes each file (`tflite.py`, `onnx.py`), then ONNX files go
through `onnx_graph/`. Build and export run in a worker process (`worker.py`).
"""
