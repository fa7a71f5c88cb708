"""The parity stage: inputs, runtimes, comparison, information, planted defects, localisation.

`stage.verify` runs it. This file imports nothing, so reading the runtime registry
(`converter --help` builds its --runtime choices from it) does not load the stage.
"""
