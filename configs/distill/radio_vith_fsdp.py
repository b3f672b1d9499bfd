# RADIO ViT-H/16 recipe (radio_vith.py, which lists every value's source) with FSDP instead
# of DDP: parameters, gradients and optimizer state are sharded across GPUs, for ViT-H/g
# students whose AdamW state crowds a GPU. Follows: radio_vith.py; FSDP is [ours].
#
#   tools/dist_train.sh configs/distill/radio_vith_fsdp.py 8   # 8 x 16 = 128 images/step,
#                                                              # lr scaled to 1e-3 x 128/1024
#
# use_orig_params lets frozen teachers and trainable students share wrapped units. The
# student EMA copy (StudentEMAHook) is not sharded; it has not been run under FSDP.
_base_ = ['./radio_vith.py']
model_wrapper_cfg = dict(
    _delete_=True,
    type='MMFullyShardedDataParallel',
    use_orig_params=True,
    sharding_strategy='FULL_SHARD',
    auto_wrap_policy=dict(type='torch.distributed.fsdp.wrap.size_based_auto_wrap_policy',
                          min_num_params=int(1e7)))
