"""`prep` as a library call: run_prep(config, progress) -> PrepResult. Never prints."""

from __future__ import annotations

import collections
import datetime as _dt
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from gantool import __version__
from gantool.atomic import write_json
from gantool.config import PrepConfig
from gantool.errors import DataError, RunError
from gantool.prep import pack, sources, work
from gantool.stopflag import StopFlag

MANIFEST_SCHEMA = 1
# zero-byte files are all "empty", not duplicates of the first one
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ProgressFn = Callable[[int, int], None]  # (files done, files total)


@dataclass(frozen=True)
class PrepResult:
    out: str
    count: int
    found: int
    ignored: int
    skipped: dict = field(default_factory=dict)
    enlarged: int = 0
    shards: int = 0
    seconds: float = 0.0
    images_per_s: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def _chunks_from_folder(cfg: PrepConfig, scan: sources.Scan, state: dict) -> Iterator[list[str]]:
    """Yield batches of unique files; byte-identical duplicates are recorded, not yielded."""
    seen: dict[str, str] = {}
    chunk: list[str] = []
    for path in scan.images:
        digest = sources.file_sha256(path)
        if digest is not None and digest != EMPTY_SHA256:
            if digest in seen:
                state["skipped"].append(("duplicate", path, f"same bytes as {os.path.relpath(seen[digest], cfg.src)}"))
                state["done"] += 1
                continue
            seen[digest] = path
        state["hash"][path] = digest
        chunk.append(path)
        if len(chunk) == cfg.batch:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _execute(cfg: PrepConfig, kind: str, chunks: Iterator[list], n_chunks: int, stop: StopFlag) -> Iterator[list]:
    """Run chunks in order, in-process or on a spawn pool with a bounded window in flight."""
    workers = max(1, min(cfg.workers, n_chunks))
    if workers == 1:
        work.init_worker(cfg, None)
        for chunk in chunks:
            yield work.run_chunk(kind, chunk)
        return
    import concurrent.futures as cf
    import multiprocessing as mp

    pool = cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp.get_context("spawn"),
        initializer=work.init_worker,
        initargs=(cfg, work.worker_threads(workers)),
    )
    window: collections.deque = collections.deque()
    try:
        for chunk in chunks:
            window.append(pool.submit(work.run_chunk, kind, chunk))
            if len(window) >= 2 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
    except cf.process.BrokenProcessPool:
        if stop.requested:  # Ctrl-C reached the workers too (one process group)
            raise KeyboardInterrupt from None
        raise RunError("a prep worker process died (out of memory?); try --workers 1 or a smaller --batch") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_prep(cfg: PrepConfig, progress: ProgressFn | None = None) -> PrepResult:
    t0 = time.monotonic()
    out = Path(cfg.out)
    staging = pack.make_staging(out)
    try:
        write_json(staging / "config.json", {"schema": MANIFEST_SCHEMA, "gantool_version": __version__,
                                             "command": "prep", "config": cfg.to_dict()})
        state: dict = {"skipped": [], "done": 0, "hash": {}}
        src = _source(cfg, state)
        if progress:
            progress(0, src["total"])
        with StopFlag() as stop:
            writer, images, enlarged = _pack(cfg, src, staging, state, progress, stop)
        counts = collections.Counter(r for r, _, _ in state["skipped"])
        if writer.count == 0:
            detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no image files found"
            raise DataError(f"nothing was packed from {cfg.src} ({src['total']} image files: {detail})")
        seconds = time.monotonic() - t0
        total = src["total"]
        result = PrepResult(
            out=str(out), count=writer.count, found=total, ignored=src["ignored"],
            skipped=dict(sorted(counts.items())), enlarged=enlarged, shards=len(writer.shards),
            seconds=round(seconds, 3), images_per_s=round(total / seconds, 2) if seconds > 0 else 0.0,
        )
        pack.write_manifest(staging, _manifest(cfg, out, result, writer, images, state, src["ignored_paths"]))
        pack.publish(staging, out)
        return result
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _source(cfg: PrepConfig, state: dict) -> dict:
    """What prep reads: the work kind, the image count, the chunks of work, what was ignored."""
    if cfg.is_builtin:
        total = len(sources.digits()[1])
        return {"kind": "digits", "total": total, "ignored": 0, "ignored_paths": [],
                "chunks": sources.iter_digit_chunks(cfg.batch), "n_chunks": -(-total // cfg.batch)}
    scan = sources.scan_folder(cfg.src)
    total = len(scan.images)
    for path, why in scan.errors:
        state["skipped"].append(("unreadable", path, why))
    return {"kind": "files", "total": total, "ignored": scan.ignored,
            "ignored_paths": [os.path.relpath(p, cfg.src) for p in scan.ignored_paths],
            "chunks": _chunks_from_folder(cfg, scan, state), "n_chunks": -(-total // cfg.batch)}


def _pack(cfg: PrepConfig, src: dict, staging: Path, state: dict, progress, stop: StopFlag):
    """Run the work and write its crops into shards; -> (closed writer, image records, enlarged).
    A Ctrl-C or SIGTERM stops it after the chunk in hand (KeyboardInterrupt; nothing is published)."""
    writer = pack.ShardWriter(staging, cfg.shard_size, cfg.size, cfg.channels)
    images: list[dict] = []
    enlarged = 0
    for outcomes in _execute(cfg, src["kind"], src["chunks"], src["n_chunks"], stop):
        if stop.requested:
            raise KeyboardInterrupt
        for oc in outcomes:
            state["done"] += 1
            if oc.reason is not None:
                state["skipped"].append((oc.reason, oc.source, oc.detail))
                continue
            for crop, rec in oc.crops:
                shard, offset = writer.add(crop)
                enlarged += bool(rec.get("enlarged"))
                source = oc.source if cfg.is_builtin else os.path.relpath(oc.source, cfg.src)
                entry = {"index": len(images), "shard": shard, "offset": offset, "source": source}
                if not cfg.is_builtin:
                    entry["sha256"] = state["hash"].get(oc.source)
                entry.update(rec)
                images.append(entry)
        if progress:
            progress(state["done"], src["total"])
    writer.close()
    return writer, images, enlarged


def _manifest(cfg: PrepConfig, out: Path, result: PrepResult, writer, images: list, state: dict,
              ignored_paths: list) -> dict:
    skipped_list = [
        {"source": s if cfg.is_builtin else os.path.relpath(s, cfg.src), "reason": r, "detail": d}
        for r, s, d in sorted(state["skipped"], key=lambda t: t[1])
    ]
    return {
        "schema": MANIFEST_SCHEMA,
        "kind": "gantool.dataset",
        "gantool_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "name": out.name,
        "size": cfg.size,
        "channels": cfg.channels,
        "count": writer.count,
        "source": cfg.src if cfg.is_builtin else os.path.abspath(cfg.src),
        "settings": cfg.to_dict(),
        "stats": {k: v for k, v in result.to_dict().items() if k != "out"},
        "shards": writer.shards,
        "images": images,
        "skipped": skipped_list,
        "ignored": ignored_paths,
    }
