# How a distillation checkpoint is evaluated, like any mm model:
#   python tools/test.py configs/distill/radio_vith.py work_dirs/radio_vith/iter_600000.pth
# On held-out images, every teacher sees every image and the student sees it at each
# partition's eval_resolution (default: the last stage's largest). TeacherAgreement reports
# distill/<teacher>_summary_cos, distill/<teacher>_feature_cos (1 is perfect) and
# distill/<teacher>_feature_mse (0 is perfect), means over the images.
#
# Images: any folder of photos the student did not train on; COCO val2017 by default
# (--cfg-options test_dataloader.dataset.data_root=DIR for another). To also validate while
# training, set val_dataloader/val_evaluator to these, val_cfg=dict(type='ValLoop') and
# train_cfg.val_interval (configs/distill/radio_demo.py does).
eval_size = 1024  # the SAM partition's resolution; other teachers resize down
eval_pipeline = [  # the dataset decodes the files itself
    dict(type='mmpretrain.ResizeEdge', scale=eval_size, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='mmpretrain.CenterCrop', crop_size=eval_size),
    dict(type='PackImageInputs'),
]
test_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='UnlabeledImageDataset', data_root='data/coco/val2017',
                 pipeline=eval_pipeline))
test_evaluator = dict(type='TeacherAgreement')
test_cfg = dict(type='TestLoop')
