"""The graph IR's helpers; its types are in `converter.artifacts`.

The pass contract (`passes`) and plan (`pipeline`), its external interface (`interface`),
static shapes (`shapes`), JSON + .npz serialisation (`serialize`) and flatten-order
arithmetic (`flatten_order`).
"""
