# The demo trained from a teacher cache: the teachers run once, when the cache is built, and
# training reads their targets instead of running them (configs/distill/README.md).
#
#   python tools/cache_teachers.py configs/distill/radio_demo.py \
#       --out work_dirs/teacher_cache/radio_demo --views 4 --dtype fp32
#   python tools/train.py configs/distill/radio_demo_cached.py
#
# Everything else (student, partitions, resolutions, losses, schedule) is radio_demo.py's.
_base_ = ['./radio_demo.py']

teacher_cache = 'work_dirs/teacher_cache/radio_demo'
model = dict(teacher_cache=teacher_cache)
# The cached views are the pipeline's output, crops and flips drawn when caching.
train_dataloader = dict(
    sampler=None,  # an IterableDataset shards itself
    dataset=dict(_delete_=True, type='CachedTeacherViews', cache=teacher_cache,
                 shuffle_buffer=200))
# Validation and tests compare the student with the teachers on other images, which a
# cached run does not have: evaluate its checkpoints with the online config,
#   python tools/test.py configs/distill/radio_demo.py work_dirs/radio_demo_cached/iter_160.pth
val_dataloader = val_evaluator = val_cfg = None
test_dataloader = test_evaluator = test_cfg = None
