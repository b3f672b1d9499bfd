"""RADIOSAM: Segment Anything with a RADIO student in place of SAM's image encoder.

AM-RADIO's SAM evaluation (NVlabs/RADIO README at commit ccfa261, "Segmentation metrics"):
"we replace the vision backbone of the SAM model with the corresponding RADIO model. The
decoder is frozen from the original model." RADIO's ``sam`` adaptor head was distilled to
reproduce SAM's image embedding, (256, 64, 64) at 1024 px, which SAM's prompt encoder and
mask decoder read unchanged.

Input geometry is SAM's (``segment_anything/modeling/sam.py::Sam.preprocess`` and
``utils/transforms.py::ResizeLongestSide``): the longest side is resized to S = 1024 before the
model (data pipeline or predictor), and the model pads bottom/right to S x S. SAM pads after
normalizing, i.e. with its mean colour; RADIO normalizes inside :class:`RADIOModel`, so the
padding here is RADIO's mean colour, which RADIO's input conditioner maps to zero.
"""
import warnings

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import InstanceData

from radio_mm.registry import MODELS
from radio_mm.structures import mask_iou
from radio_mm.utils.toolboxes import require_toolbox

from .sam_decoder import SAM_DECODER_DEFAULTS, SAM_WEIGHTS_HINT, build_sam_decoder, load_sam_decoder

# SAM's image embedding has one cell per 16 px of its input; the published decoder (its mask
# input downscaling and 4x mask upscaling) assumes that grid.
SAM_EMBEDDING_STRIDE = 16


@MODELS.register_module()
class RADIOSAM(BaseModel):
    """RADIO image embedding -> SAM prompt encoder + mask decoder.

    ``predict`` segments every ground-truth box of a sample (the paper's COCO protocol) and
    returns the masks at the original image resolution; ``loss`` fine-tunes the decoder on
    ground-truth masks from ground-truth box prompts. The attributes ``image_format``,
    ``mask_threshold``, ``prompt_encoder``, ``mask_decoder``, ``postprocess_masks`` and
    ``device`` are those segment_anything's ``SamPredictor`` uses on a ``Sam``
    (see :class:`radio_mm.apis.RADIOSamPredictor`).

    Args:
        radio (dict | nn.Module): :class:`RADIOModel` config or instance with an adaptor
            ``adaptor_name`` of ``decoder['embed_dim']`` (256) channels.
        sam_pretrained (str | None): a SAM checkpoint; its ``prompt_encoder.*`` and
            ``mask_decoder.*`` are loaded. None leaves them random (with a warning), for
            weights that come later from a RADIOSAM checkpoint.
        image_size (int): S, the square input side; 1024 for the published decoder.
        decoder (dict): overrides of :data:`SAM_DECODER_DEFAULTS` (reduced test models).
        adaptor_name (str): the RADIO adaptor that mimics SAM's image encoder.
        freeze_radio, freeze_prompt_encoder, freeze_mask_decoder (bool): parts that keep
            their weights (``requires_grad=False``, always in eval mode).
        multimask_output (bool): box prompts are unambiguous, so SAM answers them with its
            single-mask output (False); True takes the best of the three multimask outputs
            by predicted IoU.
        max_train_prompts (int): boxes drawn per image in training (bounds decoder memory).
        loss_mask, loss_dice, loss_iou (dict | None): losses on the low-resolution mask
            logits and on the IoU prediction (MSE to the IoU actually reached, as SAM's
            IoU head is trained); None drops one.
        data_preprocessor (dict): uint8 BGR batches -> RGB floats in [0, 1].
    """

    image_format = 'RGB'
    mask_threshold = 0.0  # Sam.mask_threshold: positive logits are foreground

    def __init__(self, radio, sam_pretrained=None, image_size=1024, decoder=None,
                 adaptor_name='sam', freeze_radio=True, freeze_prompt_encoder=True,
                 freeze_mask_decoder=False, multimask_output=False, max_train_prompts=16,
                 loss_mask=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True,
                                loss_weight=1.0),
                 loss_dice=dict(type='mmdet.DiceLoss', use_sigmoid=True, activate=True,
                                loss_weight=1.0),
                 loss_iou=dict(type='mmdet.MSELoss', loss_weight=1.0),
                 data_preprocessor=None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ImgDataPreprocessor', mean=[0., 0., 0.],
                                     std=[255., 255., 255.], bgr_to_rgb=True)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.radio = MODELS.build(radio) if isinstance(radio, dict) else radio
        self.adaptor_name = adaptor_name
        self.image_size = image_size
        self.embedding_size = image_size // SAM_EMBEDDING_STRIDE
        decoder = dict(decoder or {})
        self._check_geometry(dict(SAM_DECODER_DEFAULTS, **decoder)['embed_dim'])
        self.prompt_encoder, self.mask_decoder = build_sam_decoder(
            image_size, self.embedding_size, **decoder)
        if sam_pretrained is None:
            warnings.warn(
                'RADIOSAM: the SAM prompt encoder and mask decoder have random weights '
                '(sam_pretrained=None). Load a RADIOSAM checkpoint (tools/test.py CHECKPOINT, '
                f'load_from) or set sam_pretrained: {SAM_WEIGHTS_HINT}', UserWarning)
        else:
            load_sam_decoder(sam_pretrained, prompt_encoder=self.prompt_encoder,
                             mask_decoder=self.mask_decoder)
        self.multimask_output = multimask_output
        self.max_train_prompts = max_train_prompts
        self.loss_mask = MODELS.build(loss_mask) if loss_mask else None
        self.loss_dice = MODELS.build(loss_dice) if loss_dice else None
        self.loss_iou = MODELS.build(loss_iou) if loss_iou else None
        self.frozen = [name for name, frozen in (('radio', freeze_radio),
                                                 ('prompt_encoder', freeze_prompt_encoder),
                                                 ('mask_decoder', freeze_mask_decoder))
                       if frozen]
        for name in self.frozen:
            getattr(self, name).requires_grad_(False)
        self.train(self.training)
        self._register_load_state_dict_pre_hook(self._refuse_incomplete_checkpoint)

    # -- construction -------------------------------------------------------------------
    def _check_geometry(self, embed_dim):
        adaptors = getattr(self.radio, 'adaptors', {})
        if self.adaptor_name not in adaptors:
            raise KeyError(
                f'RADIOSAM: the RADIO model has no {self.adaptor_name!r} adaptor (it has '
                f'{list(adaptors)}); load it with radio_model(checkpoint, '
                f"adaptor_names=['{self.adaptor_name}']) or add it to the RADIOModel config")
        adaptor = adaptors[self.adaptor_name]
        if adaptor.feature_mlp.out_dims != embed_dim:
            raise ValueError(
                f'RADIOSAM: adaptor {self.adaptor_name!r} emits {adaptor.feature_mlp.out_dims} '
                f'channels but the SAM decoder reads {embed_dim} (decoder.embed_dim)')
        step = self.radio.min_resolution_step
        if self.image_size % SAM_EMBEDDING_STRIDE or self.image_size % step:
            raise ValueError(f'RADIOSAM: image_size {self.image_size} must be a multiple of '
                             f'{SAM_EMBEDDING_STRIDE} (SAM) and {step} (RADIO)')
        grid = self.image_size // self.radio.patch_size * adaptor.upsample_factor
        if grid % self.embedding_size:
            raise ValueError(
                f'RADIOSAM: the {self.adaptor_name!r} adaptor gives a {grid}x{grid} map at '
                f'{self.image_size} px, which does not pool to SAM\'s '
                f'{self.embedding_size}x{self.embedding_size} embedding')

    def _refuse_incomplete_checkpoint(self, state_dict, prefix, *args):
        """mmengine's Runner loads checkpoints non-strictly: a RADIO or decoder of another
        size would stay random with only a log warning, and evaluate to a plausible number."""
        missing, wrong_shape = [], []
        for key, value in self.state_dict().items():
            loaded = state_dict.get(prefix + key)
            if loaded is None:
                missing.append(key)
            elif loaded.shape != value.shape:
                wrong_shape.append(f'{key} {tuple(loaded.shape)} vs {tuple(value.shape)}')
        if missing or wrong_shape:
            raise RuntimeError(
                f'the checkpoint does not fit this RADIOSAM: {len(missing)} weights missing '
                f'(e.g. {missing[:4]}), {len(wrong_shape)} of another shape (checkpoint vs '
                f'model, e.g. {wrong_shape[:4]}). RADIOSAM checkpoints come from tools/train.py '
                'or tools/model_converters/make_radio_sam.py run with the same model config.')

    def train(self, mode=True):
        super().train(mode)
        for name in self.frozen:
            getattr(self, name).train(False)
        return self

    @property
    def device(self):
        return next(self.parameters()).device

    # -- image embedding ----------------------------------------------------------------
    def pad_to_input(self, images01, image_hws):
        """Crop each image to its resized content and pad it bottom/right to S x S with
        RADIO's mean colour.

        Args:
            images01 (Tensor): (B, 3, H, W) RGB in [0, 1], content at the top left.
            image_hws (list[tuple[int, int]]): each image's content (h, w), at most S.

        Returns:
            Tensor: (B, 3, S, S).
        """
        size = self.image_size
        # None once normalization moved out of the model: inputs are normalized already,
        # and zero is their mean colour.
        mean = getattr(self.radio.input_conditioner, 'norm_mean', None)
        mean = images01.new_zeros(3, 1, 1) if mean is None else mean.to(images01)
        padded = mean.expand(len(images01), 3, size, size).clone()
        for image, out, (h, w) in zip(images01, padded, image_hws):
            if max(h, w) > size or h > image.shape[-2] or w > image.shape[-1]:
                raise ValueError(f'RADIOSAM: image content {(h, w)} must fit the {size} px '
                                 f'input and the {tuple(image.shape[-2:])} batch tensor')
            out[:, :h, :w] = image[:, :h, :w]
        return padded

    def image_embedding(self, images01, image_hws):
        """RGB in [0, 1] (B, 3, H, W) with content sizes ``image_hws`` -> SAM image
        embedding (B, C, e, e), e = S / 16."""
        x = self.pad_to_input(images01, image_hws)
        with torch.set_grad_enabled(torch.is_grad_enabled() and 'radio' not in self.frozen):
            features = self.radio(x, feature_fmt='NCHW')[self.adaptor_name].features
        factor = features.shape[-1] // self.embedding_size
        # An upsampling adaptor gives a finer grid than SAM's; the decoder reads SAM's.
        return F.avg_pool2d(features, factor) if factor > 1 else features

    # -- prompts -> masks -----------------------------------------------------------------
    def decode(self, embedding, points=None, boxes=None, mask_input=None,
               multimask_output=False):
        """One image's prompts -> low-resolution mask logits and predicted IoUs.

        Args:
            embedding (Tensor): (1, C, e, e) image embedding.
            points (tuple[Tensor, Tensor] | None): coordinates (P, N, 2) in input pixels
                (x, y) and labels (P, N), 1 foreground, 0 background.
            boxes (Tensor | None): (P, 4) xyxy in input pixels.
            mask_input (Tensor | None): (P, 1, 4e, 4e) logits of an earlier prediction.

        Returns:
            tuple[Tensor, Tensor]: logits (P, M, 4e, 4e) and IoUs (P, M); M is 3 with
            ``multimask_output``, else 1.
        """
        sparse, dense = self.prompt_encoder(points=points, boxes=boxes, masks=mask_input)
        return self.mask_decoder(
            image_embeddings=embedding,
            image_pe=self.prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=multimask_output)

    def postprocess_masks(self, masks, input_size, original_size):
        """Logits (P, M, h', w') -> (P, M, *original_size): upscale to the padded input,
        drop the padding, resize to the original image (as ``Sam.postprocess_masks``)."""
        masks = F.interpolate(masks, (self.image_size, self.image_size), mode='bilinear',
                              align_corners=False)
        masks = masks[..., :input_size[0], :input_size[1]]
        return F.interpolate(masks, tuple(original_size), mode='bilinear', align_corners=False)

    # -- mmengine entry points --------------------------------------------------------------
    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            hws = [self.content_hw(s) for s in data_samples] if data_samples else \
                [tuple(inputs.shape[-2:])] * len(inputs)
            return self.image_embedding(inputs, hws)
        raise RuntimeError(f'RADIOSAM has no mode {mode!r} (loss, predict, tensor)')

    def content_hw(self, data_sample):
        """(h, w) of a sample's resized image inside the batch tensor (its ``img_shape``)."""
        h, w = data_sample.img_shape[:2]
        scale = data_sample.metainfo.get('scale_factor')
        if scale is not None:
            ori_h, ori_w = data_sample.ori_shape[:2]
            if abs(ori_w * scale[0] - w) > 1 or abs(ori_h * scale[1] - h) > 1:
                raise ValueError(
                    f'RADIOSAM: img_shape {(h, w)} is not the resized image '
                    f'({ori_h * scale[1]:.0f}, {ori_w * scale[0]:.0f}); remove Pad from the '
                    'pipeline: RADIOSAM pads to image_size itself, as Sam.preprocess does')
        if max(h, w) > self.image_size:
            raise ValueError(
                f'RADIOSAM: image of {(h, w)} px exceeds image_size {self.image_size}; resize '
                f'with Resize(scale=({self.image_size}, {self.image_size}), keep_ratio=True)')
        return h, w

    def predict(self, inputs, data_samples):
        """Segment each sample's ground-truth boxes; ``pred_instances`` get ``masks``
        (N, H, W) bool at the original resolution, ``scores`` (predicted IoU), and the
        prompting ``bboxes`` (original pixels) and ``labels``."""
        hws = [self.content_hw(s) for s in data_samples]
        embeddings = self.image_embedding(inputs, hws)
        for embedding, sample, hw in zip(embeddings, data_samples, hws):
            sample.pred_instances = self.segment_boxes(embedding[None], sample.gt_instances,
                                                       hw, sample.ori_shape[:2])
        return data_samples

    def segment_boxes(self, embedding, instances, input_hw, original_hw):
        """Masks for ``instances.bboxes`` (N, 4, input pixels) -> :class:`InstanceData`."""
        boxes = _box_tensor(instances.bboxes)
        (h, w), (ori_h, ori_w) = input_hw, original_hw
        pred = InstanceData(labels=instances.labels,
                            bboxes=boxes / boxes.new_tensor([w / ori_w, h / ori_h] * 2))
        if len(boxes) == 0:
            pred.masks = torch.zeros((0, ori_h, ori_w), dtype=torch.bool, device=boxes.device)
            pred.scores = boxes.new_zeros(0)
            return pred
        logits, iou = self.decode(embedding, boxes=boxes, multimask_output=self.multimask_output)
        best = iou.argmax(dim=1)  # the only output unless multimask_output
        index = torch.arange(len(boxes), device=boxes.device)
        pred.scores = iou[index, best]
        masks = self.postprocess_masks(logits[index, best, None], input_hw, original_hw)
        pred.masks = masks[:, 0] > self.mask_threshold
        return pred

    def loss(self, inputs, data_samples):
        """Box prompts from ``gt_instances.bboxes`` -> losses against ``gt_instances.masks``
        (mmdet BitmapMasks or PolygonMasks at the resized image)."""
        trainable = [p for p in self.parameters() if p.requires_grad]
        if not trainable:
            raise RuntimeError('RADIOSAM has nothing to train: every part is frozen; set '
                               'freeze_mask_decoder=False (or freeze_prompt_encoder=False)')
        hws = [self.content_hw(s) for s in data_samples]
        embeddings = self.image_embedding(inputs, hws)
        logits, targets, predicted_ious = [], [], []
        for embedding, sample, hw in zip(embeddings, data_samples, hws):
            instances = sample.gt_instances
            if len(instances) == 0:
                continue
            keep = torch.randperm(len(instances))[:self.max_train_prompts]
            boxes = _box_tensor(instances.bboxes)[keep.to(embedding.device)]
            mask_logits, iou = self.decode(embedding[None], boxes=boxes)
            logits.append(mask_logits[:, 0])
            predicted_ious.append(iou[:, 0])
            targets.append(self.mask_targets(instances.masks[keep.numpy()], hw,
                                             mask_logits.shape[-2:]))
        if not logits:  # no object in the batch: zero losses that still reach every weight
            zero = sum(p.sum() for p in trainable) * 0
            return {name: zero for name in self._loss_names()}
        logits, targets = torch.cat(logits).flatten(1), torch.cat(targets).flatten(1)
        losses = {}
        if self.loss_mask is not None:
            losses['loss_mask'] = self.loss_mask(logits, targets)
        if self.loss_dice is not None:
            losses['loss_dice'] = self.loss_dice(logits, targets)
        if self.loss_iou is not None:
            reached = mask_iou(logits > self.mask_threshold, targets > 0.5).detach()
            losses['loss_iou'] = self.loss_iou(torch.cat(predicted_ious), reached)
        return losses

    def _loss_names(self):
        return [f'loss_{name}' for name in ('mask', 'dice', 'iou')
                if getattr(self, f'loss_{name}') is not None]

    def mask_targets(self, gt_masks, input_hw, logits_hw):
        """Instance masks at the resized image (P, h, w) -> soft targets (P, *logits_hw) on
        the grid of the decoder's low-resolution logits, which covers the padded input."""
        masks = gt_masks.to_tensor(dtype=torch.float32, device=self.device)
        h, w = input_hw
        if tuple(masks.shape[-2:]) != (h, w):
            raise ValueError(f'RADIOSAM: gt masks of {tuple(masks.shape[-2:])} px do not match '
                             f'the resized image {(h, w)}')
        masks = F.pad(masks, (0, self.image_size - w, 0, self.image_size - h))
        return F.interpolate(masks[:, None], size=tuple(logits_hw), mode='area')[:, 0]


def _box_tensor(bboxes):
    """(N, 4) xyxy tensor of mmdet boxes (a tensor or a ``BaseBoxes``)."""
    require_toolbox('mmdet', 'RADIOSAM box prompts')
    from mmdet.structures.bbox import get_box_tensor
    return get_box_tensor(bboxes)
