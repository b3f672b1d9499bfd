# RADIO ViT-H/16 recipe (radio_vith.py, which lists every value's source) sharded with FSDP2
# (torch.distributed.fsdp.fully_shard) instead of DDP: parameters, gradients and AdamW state
# are split across GPUs, for ViT-H/g students whose optimizer state crowds a GPU and for
# large teachers. Follows: radio_vith.py; the sharding is [ours].
#
#   tools/dist_train.sh configs/distill/radio_vith_fsdp.py 8   # 8 x 16 = 128 images/step,
#                                                              # lr scaled to 1e-3 x 128/1024
#
# FullyShardWrapper (radio_mm/engine/fully_shard.py) makes each transformer block of the
# student and of the frozen teachers its own shard unit (replicate=['teachers'] keeps the
# teachers whole on every GPU instead). bf16 compute with float32 master weights and float32
# gradient reduction: its mixed_precision replaces radio_vith's bf16 AmpOptimWrapper. The
# backbone's with_cp already recomputes activations (the wrapper's activation_checkpointing
# would do the same). Checkpoints are iter_N.dcp/ folders that every rank writes its shards
# into, resumable at any GPU count; tools/model_converters/consolidate_checkpoint.py turns
# one into a .pth for radio_model / mm2radio / radio2hf. The student EMA (StudentEMAHook) is
# sharded like the student. Tested on 2 CPU processes against DDP
# (tests/test_engine/test_fully_shard.py); not yet run on GPUs at this size.
_base_ = ['./radio_vith.py']
model_wrapper_cfg = dict(
    _delete_=True,
    type='radio_mm.FullyShardWrapper',
    mixed_precision=dict(param_dtype='bfloat16', reduce_dtype='float32'))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer={{_base_.optim_wrapper.optimizer}},
    clip_grad={{_base_.optim_wrapper.clip_grad}})
