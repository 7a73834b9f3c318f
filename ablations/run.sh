#!/usr/bin/env bash
# Equal-budget ablations (issues 6 and 7): every model gets the same data, lambda, crop, batch and number of
# steps, then is evaluated on Kodak with real files. Two single-thread runs at a time (a 2-core machine).
#
#   ablations/run.sh TRAIN_DIR KODAK_DIR [NAME ...]        (default: every name below)
#
# Checkpoints: runs/ablation/NAME/last.pt (rerunning resumes); results: results/ablation/NAME.json|csv.
set -euo pipefail
train_dir=${1:?training image folder}; kodak_dir=${2:?Kodak folder}; shift 2
steps=${STEPS:-2000}
declare -A MODEL=(
  [gmm-k3]="--model cheng2020-anchor --K 3"
  [gaussian-k1]="--model cheng2020-anchor --K 1"
  [gllmm]="--model fu2023-gllmm"
  [octave]="--model fu2022-octave --K 3"
  [asym]="--model fu2022-asym --K 3"
  [asym-no-im]="--model fu2022-asym --K 3 --option importance_map=false"
  [asym-no-pqf]="--model fu2022-asym --K 3 --option pqf=false"
  [asym-neither]="--model fu2022-asym --K 3 --option importance_map=false --option pqf=false"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(gmm-k3 gaussian-k1 gllmm octave asym asym-no-im asym-no-pqf asym-neither)

one() {
  local name=$1 out=runs/ablation/$1 resume=""
  [ -f "$out/last.pt" ] && resume=--resume
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=1 licodec train --data "$train_dir" --out "$out" ${MODEL[$name]} --N 64 --rates 1 \
    --lambdas 0.0130 --steps "$steps" --batch-size 8 --crop 128 --lr 2e-4 --threads 1 --workers 1 \
    --checkpoint-minutes 5 --no-progress $resume
  cp "$out/last.pt" "runs/ablation/$name.pt"  # eval names its results after the file: NAME.json
  licodec eval "$kodak_dir" --model "runs/ablation/$name.pt" --out results/ablation --threads 1 --no-progress
}

mkdir -p runs/ablation results/ablation
for name in "${names[@]}"; do
  [ -n "${MODEL[$name]:-}" ] || { echo "unknown ablation $name; known: ${!MODEL[*]}" >&2; exit 2; }
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
  one "$name" > "runs/ablation/$name.log" 2>&1 && echo "$name: done" || echo "$name: FAILED (runs/ablation/$name.log)" &
done
wait
