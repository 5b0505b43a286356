"""The run folder: one home for its layout and for everything that reads or writes it.

    runs/NNNNN-VARIANT-DATASET/
      config.json          the TrainConfig the run was started with     run.config
      metrics.jsonl        losses, pfd8, eval lines, one JSON per line  run.metrics
      checkpoints/         ckpt-STEP.*, state.json, best/,              run.checkpoints
                           generator[_ema][-RESpx].keras
      samples/ events/ losses.png eval/ export/

train writes through this package (gantool.train.checkpoint saves the TF checkpoints, using the
names here); sample, eval and export read through it and never import gantool.train.
Nothing here imports TensorFlow at module level.
"""
