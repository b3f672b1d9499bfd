"""The official NVlabs/RADIO implementation beside radio_mm, on one checkpoint.

Imported by ``bench_students.py --official-src DIR``: DIR is a checkout of NVlabs/RADIO
(its ``hubconf.py`` and ``radio/`` package), put on ``sys.path`` at run time; nothing of
it is part of radio_mm. The official code builds a randomly initialised student
(`radio/radio_model.py` ``create_model_from_args``), which is saved as a release-layout
checkpoint (``args`` + ``state_dict`` with ``base_model.*`` and ``input_conditioner.*``);
both implementations then load that same file through their ``radio_model`` entry points.
"""
import importlib
import os.path as osp
import sys
import warnings
from argparse import Namespace

import torch

# create_model_from_args reads these beside model / model_kwargs / teachers.
BASE_ARGS = dict(pretrained=False, in_chans=None, input_size=None, num_classes=0, drop=0.0,
                 drop_path=None, drop_block=None, gp=None, bn_momentum=None, bn_eps=None,
                 torchscript=False, initial_checkpoint='', model_norm=False,
                 mlp_version='v2', spectral_reparam=False, dtype=torch.float32)
# The released students' layouts (NVlabs/RADIO README / RESOURCE_MAP): E-RADIO-L (e-radio_v2)
# and a CPE ViT-B/16 with 2 summary tokens + 6 registers, as configs/distill/radio_vitb.py.
STUDENT_ARGS = {
    'eradio_l': dict(model='eradio', model_kwargs=dict(return_full_features=True),
                     teachers=[dict(name='clip'), dict(name='sam', use_summary=False)],
                     cls_token_per_teacher=False, cpe_max_size=None),
    'vit_b16': dict(model='vit_base_patch16_224', model_kwargs={},
                    teachers=[dict(name='clip'), dict(name='dino_v2')],
                    cls_token_per_teacher=True, register_multiple=8, cpe_max_size=2048),
}


def import_official(src):
    """The official ``hubconf`` module from the checkout ``src``."""
    if not osp.isfile(osp.join(src, 'hubconf.py')):
        raise FileNotFoundError(f'--official-src {src!r} holds no hubconf.py; give a checkout '
                                'of https://github.com/NVlabs/RADIO')
    sys.path.insert(0, osp.abspath(src))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return importlib.import_module('hubconf')


def write_release_checkpoint(src, student, path, seed=0):
    """Save a randomly initialised official ``student`` (a key of STUDENT_ARGS) to ``path``
    in the release layout. Batch-norm statistics are randomized too, so that folding them
    in the deploy forms is exercised."""
    import_official(src)
    from radio.radio_model import create_model_from_args
    torch.manual_seed(seed)
    args = Namespace(**BASE_ARGS, **STUDENT_ARGS[student])
    build_args = Namespace(**{**vars(args), 'model_kwargs': dict(args.model_kwargs)})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = create_model_from_args(build_args)  # pops weight_init from model_kwargs
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2)
    state = {f'base_model.{k}': v for k, v in model.state_dict().items()}
    # OpenAI CLIP statistics, as the official default conditioner.
    state['input_conditioner.norm_mean'] = torch.tensor([0.48145466, 0.4578275, 0.40821073])
    state['input_conditioner.norm_std'] = torch.tensor([0.26862954, 0.26130258, 0.27577711])
    for key in ('input_conditioner.norm_mean', 'input_conditioner.norm_std'):
        state[key] = state[key].view(3, 1, 1)
    torch.save(dict(args=args, state_dict=state), path)
    return path


def load_official(src, path, hw=(512, 512)):
    """The official RADIOModel for a release-layout file, in its deploy form, eval mode.

    One eval forward at ``hw`` runs first: the official E-RADIO ``switch_to_deploy()`` marks
    its position biases as computed (`radio/eradio_model.py` ``PosEmbMLPSwinv2D``), so
    switching a freshly loaded model would use the checkpoint's ``relative_bias`` buffer
    (zeros in a new model) instead of the MLP's bias.
    """
    hubconf = import_official(src)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = hubconf.radio_model(version=path, progress=False).eval()
    with torch.inference_mode():
        model(torch.rand(1, 3, *hw))
    model.switch_to_deploy()
    return model.eval()
