#!/bin/sh
# A stand-in for `sclaw train` used by tests/test_study.c to exercise the study
# runner's scheduling (skip finished, resume partial, report failures) without
# training a model. Called as: fake_train.sh --threads T --quiet train CFG
#   --data D --out RUNDIR --steps S ... [--resume]
# It records each call in $FAKE_CALLS, fails for the run named in $FAKE_FAIL,
# and writes log.csv and result.json like the real trainer.
out="" steps="" resume=0
while [ $# -gt 0 ]; do
    case "$1" in
    --out) out="$2"; shift ;;
    --steps) steps="$2"; shift ;;
    --resume) resume=1 ;;
    esac
    shift
done
name=$(basename "$out")
echo "$name resume=$resume" >> "$FAKE_CALLS"
[ "$name" = "${FAKE_FAIL:-}" ] && { echo "fake failure" >&2; exit 3; }
mkdir -p "$out"
printf 'step,tokens,flops,lr,train_loss,val_loss\n%s,1,1,0.001,3.5,3.6\n' "$steps" > "$out/log.csv"
# the loss depends on the name only, so repeated studies give identical tables
loss=$(printf '%s' "$name" | cksum | awk '{printf "%.6f", 3 + ($1 % 1000) / 1000}')
printf '{"val_loss": %s, "train_loss": %s, "num_train_steps": %s}\n' "$loss" "$loss" "$steps" > "$out/result.json.tmp"
mv "$out/result.json.tmp" "$out/result.json"
