"""Report stage: the JSON record and its renderings."""
