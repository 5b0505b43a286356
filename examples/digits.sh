#!/usr/bin/env bash
# The offline demo pipeline on scikit-learn's bundled 1,797 handwritten digits.
#
# Needs:        `gantool` on PATH (`make demo` puts .venv/bin first) — no network, no photos.
# Leaves:       $OUT/digits_32/   the packed dataset (1797 x 32x32x1 uint8, manifest.json)
#               $OUT/dcgan/       a DCGAN run: samples/final.png (10x10 grid), losses.png,
#                                 metrics.jsonl, checkpoints/generator_ema.keras, config.json
#               $OUT/samples/     100 sampled digits (z ~ U(-0.4, 0.4)) + grid.png; $OUT/samples.npz
#               $OUT/generator.tflite   the generator for phones (z in, uint8 images out)
#               $OUT/dcgan/eval/demo/   report.html (open it in a browser), report.json, nn.png
#               $OUT/quiz.html    a real-or-generated quiz page for people
#               $OUT/prep.json, train.json, sample.json, export.json, eval.json   the --json summaries
# Environment:  OUT (default ./demo-out), SIZE (default 32), STEPS (default 3000; the result JSON reports the seconds),
#               METRICS (default msssim,nn: no network needed; with the Inception file in place,
#               see README "Evaluate", use fid,kid,pr,msssim,nn)
set -euo pipefail
OUT=${OUT:-demo-out}
SIZE=${SIZE:-32}
STEPS=${STEPS:-3000}
METRICS=${METRICS:-msssim,nn}
mkdir -p "$OUT"

echo "== prep: builtin:digits -> $OUT/digits_$SIZE"
gantool prep builtin:digits --size "$SIZE" --out "$OUT/digits_$SIZE" --overwrite --json > "$OUT/prep.json"
cat "$OUT/prep.json"

# --d-bias --out-gain 1.1: D sees the contrast of the fakes, G reaches black (README, train options);
# --kernel 5: 5x5 kernels, measured better on these digits than the reference's 4x4 (docs/benchmarks.md)
echo "== train: dcgan on $OUT/digits_$SIZE for $STEPS steps"
rm -rf "$OUT/dcgan"   # the demo's own run folder: start fresh each time
gantool train dcgan --data "$OUT/digits_$SIZE" --out "$OUT/dcgan" --steps "$STEPS" \
  --filters 32 --batch 64 --ema 0.999 --d-bias --out-gain 1.1 --kernel 5 --grid 10 --sample-every 500 --ckpt-every 1000 \
  --json > "$OUT/train.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("steps", d["step"], "pfd8", round(d["pfd8"], 4), "img/s", round(d["img_per_s"]))' "$OUT/train.json"

echo "== sample: 100 digits with z ~ U(-0.4, 0.4)"
gantool sample "$OUT/dcgan" --zrange 0.4 --count 100 --out "$OUT/samples" --npz "$OUT/samples.npz" --json > "$OUT/sample.json"

echo "== export: the generator as TFLite (z in, uint8 images out), checked against Keras"
gantool export "$OUT/dcgan" --format tflite --out "$OUT/generator.tflite" --json > "$OUT/export.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("export", d["path"], "max difference", d["max_diff"], "levels")' "$OUT/export.json"
echo "== eval: $METRICS on 1000 generated digits against the dataset"
gantool eval "$OUT/dcgan" --metrics "$METRICS" --count 1000 --out "$OUT/dcgan/eval/demo" --json -q > "$OUT/eval.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [print(" ", k, v.get("summary")) for k, v in d["metrics"].items()]' "$OUT/eval.json"

echo "== quiz: 20 real + 20 generated digits, shuffled, for people to judge"
gantool eval quiz "$OUT/dcgan" --count 20 --out "$OUT/quiz.html" --json > "$OUT/quiz.json"

echo "== done: training grid $OUT/dcgan/samples/final.png, loss curves $OUT/dcgan/losses.png,"
echo "         samples $OUT/samples/grid.png, generator $OUT/generator.tflite,"
echo "         report $OUT/dcgan/eval/demo/report.html, quiz $OUT/quiz.html"
