# E-RADIO-L linear probe on ADE20K (AM-RADIO reports 48.22 mIoU, see README.md): the probe
# reads the stride-16 neck map (1536 channels), as NVlabs/RADIO's E-RADIO config does.
_base_ = ['./radio-vitb_linear_ade20k-512x512.py']
crop_size = (512, 512)
model = dict(
    # E-RADIO's windowed stages need sides that are multiples of 32.
    data_preprocessor=dict(test_cfg=dict(size_divisor=32)),
    backbone=dict(
        _delete_=True,
        type='radio_mm.ERADIO',
        arch='l',
        out_indices=(4, ),
        frozen=True),
    decode_head=dict(in_channels=[1536]),
    # Sliding 512x512 windows, every forward at the training crop size, as the official
    # E-RADIO probe evaluates (NVlabs/RADIO mmseg/configs/radio/eradio_linear_8xb2-80k_...).
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))
