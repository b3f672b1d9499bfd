#!/usr/bin/env bash
# tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args...]  (torchrun; GPUS processes per node)
# Several nodes: NNODES=2 NODE_RANK=0|1 MASTER_ADDR=<node 0> PORT=29500 on each (dist_launch.sh).
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
source "$(dirname "$0")/dist_launch.sh"
"${TORCHRUN[@]}" "$(dirname "$0")/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
