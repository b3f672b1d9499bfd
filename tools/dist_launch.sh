#!/usr/bin/env bash
# Sourced by tools/dist_train.sh and tools/dist_test.sh: GPUS processes on this node, with the
# variables the OpenMMLab toolboxes' dist_*.sh read (mmseg 1.x / mmdet 3.x docs, "multiple
# machines"), checked before torchrun waits for a rendezvous that cannot happen:
#   NNODES (default 1), NODE_RANK (0..NNODES-1, default 0), MASTER_ADDR (node 0's address,
#   default 127.0.0.1), PORT (default 29500), PYTHON (default python).
# Run the same command on every node, with its own NODE_RANK and the same MASTER_ADDR/PORT.
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
PYTHON=${PYTHON:-python}

_refuse() {
    echo "$(basename "$0"): $1" >&2
    exit 2
}
[[ $GPUS =~ ^[1-9][0-9]*$ ]] ||
    _refuse "GPUS (processes on this node) must be a positive integer, got '$GPUS'"
[[ $NNODES =~ ^[1-9][0-9]*$ ]] || _refuse "NNODES must be a positive integer, got '$NNODES'"
[[ $NODE_RANK =~ ^[0-9]+$ ]] && ((NODE_RANK < NNODES)) ||
    _refuse "NODE_RANK must be one of 0..$((NNODES - 1)) (NNODES=$NNODES), got '$NODE_RANK'"
[[ $PORT =~ ^[0-9]+$ ]] && ((PORT > 0 && PORT < 65536)) ||
    _refuse "PORT must be a TCP port (1..65535), got '$PORT'"
if [[ -z ${MASTER_ADDR:-} ]]; then
    ((NNODES == 1)) || echo "$(basename "$0"): MASTER_ADDR is not set: node $NODE_RANK looks" \
        "for node 0 at 127.0.0.1, which works only when all $NNODES nodes are this machine;" \
        "set MASTER_ADDR to node 0's address on every node" >&2
    MASTER_ADDR=127.0.0.1
fi
echo "$(basename "$0"): node $NODE_RANK of $NNODES, $GPUS processes here, world size" \
    "$((NNODES * GPUS)), rendezvous at $MASTER_ADDR:$PORT" >&2

TORCHRUN=("$PYTHON" -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK"
    --master_addr="$MASTER_ADDR" --master_port="$PORT" --nproc_per_node="$GPUS")
export PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-}
