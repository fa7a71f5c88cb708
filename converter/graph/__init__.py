"""The graph IR's helpers: the pass contract (`passes`) and plan (`pipeline`), its external
interface (`interface`), static lengths (`lengths`), JSON + .npz serialisation
(`serialize`) and flatten-order arithmetic (`flatten_order`). The types are in
`converter.artifacts`."""
