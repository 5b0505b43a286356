"""A run's config.json: the TrainConfig it was started with (schema RUN_SCHEMA, kind gantool.run)."""

from __future__ import annotations

from pathlib import Path

from gantool import __version__
from gantool.atomic import read_json_doc, write_json
from gantool.config import RUN_SCHEMA, TrainConfig
from gantool.errors import UsageError
from gantool.run.layout import CONFIG


def run_config_doc(cfg, version: str) -> dict:
    return {"schema": 1, "kind": "gantool.run", "gantool_version": version, "config": cfg.to_dict()}


def write_run_config(cfg) -> None:
    write_json(Path(cfg.run_dir) / CONFIG, run_config_doc(cfg, __version__))


def load_run_config(run_dir: str | Path) -> TrainConfig:
    """The TrainConfig a run was started with (its config.json)."""
    path = Path(run_dir) / CONFIG
    doc = read_json_doc(path, "gantool.run", (RUN_SCHEMA,), "gantool run", UsageError)
    settings = doc.get("config")
    if not isinstance(settings, dict):
        raise UsageError(f"{path}: no settings (its \"config\" object is missing)")
    try:
        cfg = TrainConfig.from_dict(settings)
        if not isinstance(cfg.size, int) or not isinstance(cfg.variant, str):
            raise TypeError("size/variant of the wrong type")
        return cfg.validate()
    except UsageError as e:
        raise UsageError(f"{path}: {e.message}") from None
    except (TypeError, ValueError) as e:
        raise UsageError(f"{path}: invalid settings ({e})") from None
