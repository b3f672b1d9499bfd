"""SAM's promptable half: the prompt encoder and mask decoder, without SAM's image encoder.

Every published SAM (vit_b, vit_l, vit_h) shares one decoder layout, the values
``segment_anything/build_sam.py::_build_sam`` fixes: 256-d prompt embeddings, 16 mask-input
channels, a two-layer ``TwoWayTransformer`` (MLP 2048, 8 heads), three multimask outputs and a
three-layer IoU head of width 256. The prompt encoder is tied to the input side S (1024) and
the embedding grid S / 16 (64), so a reduced model changes those two with the widths.
"""
import os
import os.path as osp

from segment_anything.modeling import MaskDecoder, PromptEncoder, TwoWayTransformer

from ..teachers.base_teacher import read_state_dict
from ..teachers.weight_tables import SAM_CHECKPOINT_URLS

SAM_DECODER_DEFAULTS = dict(
    embed_dim=256,
    mask_in_chans=16,
    num_multimask_outputs=3,
    transformer_depth=2,
    transformer_mlp_dim=2048,
    transformer_num_heads=8,
    iou_head_depth=3,
    iou_head_hidden_dim=256)

SAM_WEIGHTS_HINT = ('use a full SAM checkpoint, e.g. ' + ', '.join(SAM_CHECKPOINT_URLS.values())
                    + ' (all sizes share the decoder: only prompt_encoder.* and mask_decoder.* '
                    'are read)')


def build_sam_decoder(image_size, embedding_size, **sizes):
    """(PromptEncoder, MaskDecoder) for an S x S input whose embedding is e x e.

    Args:
        image_size (int): S, the padded square input side in pixels.
        embedding_size (int): e, the image embedding side (S / 16 for SAM).
        **sizes: overrides of :data:`SAM_DECODER_DEFAULTS`.
    """
    unknown = set(sizes) - set(SAM_DECODER_DEFAULTS)
    if unknown:
        raise TypeError(f'unknown SAM decoder settings {sorted(unknown)}; '
                        f'known: {sorted(SAM_DECODER_DEFAULTS)}')
    s = dict(SAM_DECODER_DEFAULTS, **sizes)
    prompt_encoder = PromptEncoder(
        embed_dim=s['embed_dim'],
        image_embedding_size=(embedding_size, embedding_size),
        input_image_size=(image_size, image_size),
        mask_in_chans=s['mask_in_chans'])
    mask_decoder = MaskDecoder(
        transformer_dim=s['embed_dim'],
        transformer=TwoWayTransformer(
            depth=s['transformer_depth'],
            embedding_dim=s['embed_dim'],
            mlp_dim=s['transformer_mlp_dim'],
            num_heads=s['transformer_num_heads']),
        num_multimask_outputs=s['num_multimask_outputs'],
        iou_head_depth=s['iou_head_depth'],
        iou_head_hidden_dim=s['iou_head_hidden_dim'])
    return prompt_encoder, mask_decoder


def load_sam_decoder(path, **modules):
    """Load ``prompt_encoder=...`` and ``mask_decoder=...`` strictly from a SAM checkpoint.

    The checkpoint is segment_anything's (``prompt_encoder.*``, ``mask_decoder.*``, and the
    ``image_encoder.*`` that is skipped), or the same keys inside a ``state_dict``/``model``
    container.
    """
    path = os.fspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'SAM checkpoint {path!r} does not exist; {SAM_WEIGHTS_HINT}')
    try:
        state_dict = read_state_dict(path)
    except Exception as err:
        raise RuntimeError(f'cannot read SAM checkpoint {path!r} ({err}); '
                           f'{SAM_WEIGHTS_HINT}') from err
    for name, module in modules.items():
        prefix = f'{name}.'
        weights = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
        if not weights:
            raise KeyError(f'{path!r} holds no {prefix}* weights, so it is not a full SAM '
                           f'checkpoint (an image-encoder-only file?); {SAM_WEIGHTS_HINT}')
        expected = module.state_dict()
        missing = sorted(set(expected) - set(weights))
        unexpected = sorted(set(weights) - set(expected))
        wrong_shape = [f'{k} {tuple(weights[k].shape)} vs {tuple(v.shape)}'
                       for k, v in expected.items() if k in weights and weights[k].shape != v.shape]
        if missing or unexpected or wrong_shape:
            raise RuntimeError(
                f'the {name} in {path!r} does not fit the configured one: missing {missing[:5]}, '
                f'unexpected {unexpected[:5]}, shapes (checkpoint vs model) {wrong_shape[:5]}. '
                'Published checkpoints need the default decoder sizes '
                f'({SAM_DECODER_DEFAULTS}) and image_size=1024.')
        module.load_state_dict(weights, strict=True)
