# radio_vitb.py trained from a teacher cache (configs/distill/README.md, "Teacher cache").
# Build the cache once (GPUs; a multi-GPU run splits the shards across ranks):
#
#   torchrun --nproc-per-node 8 tools/cache_teachers.py configs/distill/radio_vitb.py \
#       --out data/teacher_cache/radio_vitb --views 2 --dtype bf16 --launcher pytorch
#
# then train without running the teachers:
#
#   tools/dist_train.sh configs/distill/radio_vitb_cached.py 8
#
# The cache must come from radio_vitb.py's teachers, checkpoints and data preprocessor
# (checked at start); student, partitions, resolutions, losses and schedule are unchanged.
_base_ = ['./radio_vitb.py']

teacher_cache = 'data/teacher_cache/radio_vitb'
model = dict(teacher_cache=teacher_cache)
train_dataloader = dict(
    dataset=dict(_delete_=True, type='CachedTeacherViews', cache=teacher_cache,
                 shuffle_buffer=5000))
# Tests compare the student with the teachers on held-out images, which a cached run does
# not have: evaluate its checkpoints with the online config,
#   python tools/test.py configs/distill/radio_vitb.py work_dirs/radio_vitb_cached/iter_600000.pth
test_dataloader = test_evaluator = test_cfg = None
