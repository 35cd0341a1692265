#!/usr/bin/env bash
# One prepared GPU check (issue 22), about 8 minutes on one GPU. From the repository root, with the package and
# accelerate installed (pip install -e .):
#
#   bash bench/gpu_check.sh
#
# 1. the main job (configs/zero-shot-ctam.yaml, seed 42) in bf16 under accelerate (bench/precision.py --device cuda);
# 2. bench/speed.py --device cuda --dtype bf16 on the offline encoder at sequence length 128: CTAM's training cost and
#    inference throughput against plain fine-tuning, measured in one run;
# 3. with 2 GPUs or more (nvidia-smi -L): the main job on 2 processes, DDP over NCCL (configs/accelerate/multi_gpu.yaml,
#    bf16), 8 rows a step on each GPU so that the global batch is the 1-process one.
#
# Everything lands in bench/results/gpu_check/ (each step's JSON and Markdown, its log, and summary.md). Each step has
# its own time limit (STEP_TIMEOUT_S, default 240 s); a step that fails or runs out of time is marked in summary.md and
# the others still run. The run folders go to runs/gpu_check/.
set -u -o pipefail
cd "$(dirname "$0")/.."

OUT=bench/results/gpu_check
WORK=runs/gpu_check
STEP_TIMEOUT_S=${STEP_TIMEOUT_S:-240}
# transformers >= 5.2x loads Hugging Face Hub kernels by default when the `kernels` package is installed (a
# dependency of transformers 5.25) and the model is on a GPU; on a machine without the Hub, `model.eval()` then raises
# "... is not available in the local cache and Hugging Face Hub is in offline mode" (bench/speed.py did, on the first
# run of this check). Off unless the caller says otherwise.
export USE_HUB_KERNELS=${USE_HUB_KERNELS:-0}
mkdir -p "$OUT" "$WORK"
SUMMARY="$OUT/summary.md"

if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "bench/gpu_check.sh: nvidia-smi not found; this check needs an NVIDIA GPU" >&2
    exit 2
fi
GPUS=$(nvidia-smi -L | grep -c '^GPU ')
{
    echo "# GPU check ($(date -u +%Y-%m-%dT%H:%MZ))"
    echo
    echo '```'
    nvidia-smi -L
    python -c "import torch, transformers, accelerate; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'bf16', torch.cuda.is_bf16_supported(), '| transformers', transformers.__version__, '| accelerate', accelerate.__version__)"
    echo '```'
    echo
    echo "| step | command | status | seconds |"
    echo "|---|---|---|---:|"
} >"$SUMMARY"

step() {  # step NAME COMMAND...: run under the time limit, log, and add a row to summary.md
    local name=$1
    shift
    local start=$SECONDS status
    echo "== $name: $*"
    if timeout "$STEP_TIMEOUT_S" "$@" >"$OUT/$name.log" 2>&1; then status=ok; else status="failed (exit $?, see $name.log)"; fi
    echo "| $name | \`$*\` | $status | $((SECONDS - start)) |" >>"$SUMMARY"
    tail -n 15 "$OUT/$name.log"
}

step main_bf16 python bench/precision.py --device cuda --precisions bf16 --tag gpu_check/main_bf16 \
    --work-dir "$WORK" --results-dir bench/results
step speed_bf16 python bench/speed.py --device cuda --dtype bf16 --model offline --seqs 128 --batches 32 \
    --suite all --out-dir "$OUT" --name speed_bf16
if [ "$GPUS" -ge 2 ]; then
    step ddp_2gpu_bf16 python bench/precision.py --device cuda --num-processes 2 --precisions bf16 \
        --tag gpu_check/ddp_2gpu_bf16 --work-dir "$WORK" --results-dir bench/results -- --per_device_train_batch_size 8
else
    echo "| ddp_2gpu_bf16 | (2 processes, multi_gpu.yaml) | skipped: $GPUS GPU | 0 |" >>"$SUMMARY"
fi

{
    echo
    for f in "$OUT/main_bf16.md" "$OUT/ddp_2gpu_bf16.md" "$OUT/speed_bf16.md"; do
        [ -f "$f" ] && { cat "$f"; echo; }
    done
} >>"$SUMMARY"
echo "wrote $SUMMARY"
