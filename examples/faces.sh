#!/usr/bin/env bash
# Faces pipeline over a folder of your photos: MTCNN face crops packed into a dataset.
#
# Usage:        examples/faces.sh PHOTOS_DIR [SIZE]
# Needs:        `gantool` on PATH (e.g. `source .venv/bin/activate` after `make demo`);
#               a folder of photos (jpg/jpeg/png/webp/bmp/tif/tiff, searched recursively).
# Leaves:       $OUT/<folder>_<SIZE>/ (manifest.json lists every photo's fate: packed with its
#               face box/landmarks, or skipped with a reason), $OUT/prep.json (summary).
# Environment:  OUT (default: ./data), ALIGN=1 to level the eyes, FACES=all for group photos.
# Exit code:    0 ok, 1 nothing could be packed, 2 bad arguments (as gantool's).
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 PHOTOS_DIR [SIZE]" >&2
  exit 2
fi
SRC=$1
SIZE=${2:-256}
OUT=${OUT:-data}
NAME=$(basename "$(cd "$SRC" && pwd)")
mkdir -p "$OUT"
args=(prep "$SRC" --size "$SIZE" --out "$OUT/${NAME}_$SIZE" --overwrite --faces "${FACES:-largest}" --json)
[ "${ALIGN:-0}" = 1 ] && args+=(--align)

echo "== prep: $SRC -> $OUT/${NAME}_$SIZE" >&2
gantool "${args[@]}" > "$OUT/prep.json"
cat "$OUT/prep.json"
