# RADIO ViT-H/16 recipe with FSDP instead of DDP: parameters, gradients and optimizer state
# are sharded across GPUs, for ViT-H/g students whose AdamW state crowds a GPU.
#   tools/dist_train.sh configs/distill/radio_vith_fsdp.py 8
# use_orig_params lets frozen teachers and trainable students share wrapped units.
_base_ = ['./radio_vith.py']
model_wrapper_cfg = dict(
    _delete_=True,
    type='MMFullyShardedDataParallel',
    use_orig_params=True,
    sharding_strategy='FULL_SHARD',
    auto_wrap_policy=dict(type='torch.distributed.fsdp.wrap.size_based_auto_wrap_policy',
                          min_num_params=int(1e7)))
