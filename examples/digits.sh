#!/usr/bin/env bash
# The offline demo pipeline on scikit-learn's bundled 1,797 handwritten digits.
#
# Needs:        `gantool` on PATH (`make demo` puts .venv/bin first) — no network, no photos.
# Leaves:       $OUT/digits_32/ (manifest.json, config.json, shard-00000.npz: 1797 x 32x32x1 uint8)
#               $OUT/prep.json  (the --json summary of the prep step)
# Environment:  OUT (default: ./demo-out), SIZE (default: 32)
#
# Stages land here as gantool grows (train, sample, eval); today it runs prep.
set -euo pipefail
OUT=${OUT:-demo-out}
SIZE=${SIZE:-32}
mkdir -p "$OUT"

echo "== prep: builtin:digits -> $OUT/digits_$SIZE"
gantool prep builtin:digits --size "$SIZE" --out "$OUT/digits_$SIZE" --overwrite --json > "$OUT/prep.json"
cat "$OUT/prep.json"
echo "== done: dataset in $OUT/digits_$SIZE, summary in $OUT/prep.json"
