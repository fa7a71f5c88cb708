"""Graph passes that shape what is exported, not what is checked.

They run on the normalised graph after the option passes; parity still runs the graph as
normalised, so each one is proven by the artifacts' parity against it. EXPORT_PASSES is
their order; the report records the ones that changed something.
"""

from __future__ import annotations

from converter.export.graph_passes import conv_batchnorm, valid_windows

EXPORT_PASSES = (valid_windows.PASS, conv_batchnorm.PASS)
