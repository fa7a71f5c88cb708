"""`converter batch`: many models, N worker processes, a content-hash cache, CI shards.

Each model is converted in its own interpreter (a crash there is that model's result, not the
batch's end) into OUTDIR/<name>/; OUTDIR/summary.json lists every model with its report.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from converter.batch.config import read_config
from converter.batch.run import run_model
from converter.batch.shards import parse_shard
from converter.errors import UsageError
from converter.process.pool import BATCH_KINDS, warm_servers
from converter.process.staging import write_atomically
from converter.report.documents import Document, batch_document
from converter.report.progress import Silent, StageListener

__all__ = ["parse_shard", "run_batch"]


def run_batch(
    config: Path, output_dir: Path, jobs: int = 1, shard: tuple[int, int] | None = None,
    use_cache: bool = True, listener: StageListener | None = None,
    executor: str = "local", address: str | None = None,
) -> Document:
    """Convert every model of `config` (this shard's share) and write OUTDIR/summary.json.

    Shard i/n takes the models whose position p in the file has p % n == i - 1, so the
    shards of one file are disjoint and together are the whole batch. `executor` "ray" runs
    each model as a Ray task (`ray_executor`) on the cluster at `address` (None: a local
    one) instead of `jobs` local threads. Locally every conversion still runs in a process
    of its own, forked from a warm "conversion" server, and its tasks fork from the warm
    servers the batch starts (process/pool.py): TensorFlow is imported once for the batch,
    not once per model, and converter's pipeline once, not once per model.
    """
    if jobs < 1:
        raise UsageError(f"-j {jobs}: the number of worker processes must be at least 1")
    models = read_config(config, output_dir)
    if shard is not None:
        models = [m for m in models if m.index % shard[1] == shard[0] - 1]
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"-o {output_dir}: cannot write there ({exc.strerror or exc})") from exc
    told = listener or Silent()
    if executor == "ray":
        from converter.batch.ray_executor import run_on_ray

        done = run_on_ray(models, use_cache, told, address)
    else:  # one warm pool for the batch: each conversion's tasks fork from its servers
        with warm_servers(BATCH_KINDS, share=True), ThreadPoolExecutor(max_workers=jobs) as pool:
            done = list(pool.map(lambda model: run_model(model, use_cache, told), models))
    document = batch_document(done)
    write_atomically(output_dir / "summary.json",
                     json.dumps(document, indent=2, sort_keys=True) + "\n")
    return document
