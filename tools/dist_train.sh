#!/usr/bin/env bash
# tools/dist_train.sh CONFIG GPUS [train.py args...]  (DDP via torchrun; GPUS processes per node)
# Several nodes: NNODES=2 NODE_RANK=0|1 MASTER_ADDR=<node 0> PORT=29500 on each (dist_launch.sh).
CONFIG=$1
GPUS=$2
source "$(dirname "$0")/dist_launch.sh"
"${TORCHRUN[@]}" "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "${@:3}"
