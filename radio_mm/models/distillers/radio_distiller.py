"""RADIODistiller: multi-teacher feature distillation of AM-RADIO (Ranzinger et al., 2024).

Per step, for each data partition (a share of the batch with its own teachers and student
resolutions, :class:`Partition`; the paper gives SAM its own high-resolution partition, sec.
4.3; RADIOv2.5 puts every teacher in a low- and a high-resolution partition):

1. the student (a :class:`RADIOModel`) sees the images at a resolution drawn for this step;
2. every teacher of the partition sees the same images at its own resolution;
3. each teacher's adaptor heads map the student's summary token and spatial tokens into that
   teacher's space; spatial outputs are resampled onto the teacher's feature grid;
4. losses: cosine on summaries, cosine + smooth-L1 on features (sec. 3.1), or MSE on PHI-S
   standardized features.

Evaluation (``val_step``/``test_step``, ``mode='predict'``) runs the same pairing on held-out
images, every teacher on every image with the student at its partition's
``eval_resolution``, and reports per image how closely each adaptor reproduces its teacher
(summary and feature cosine, feature MSE) for :class:`TeacherAgreement`.
"""
import copy
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from torch import nn

from radio_mm.registry import MODELS

from ..backbones.radio_backbone import meta_backbone
from ..inference_model import tokens_to_nchw
from ..losses import cosine_distance
from ..teachers.base_teacher import resize_images
from ..teachers.cached_teacher import cached_teachers
from ..teachers.teacher_weight_files import check_teacher_weights
from .partition import Partition, check_teacher_inputs, key_suffixes
from .teacher_inputs import WholeImage

# uint8 BGR batches -> RGB floats in [0, 1], what teachers take.
DEFAULT_DATA_PREPROCESSOR = dict(type='ImgDataPreprocessor', mean=[0., 0., 0.],
                                 std=[255., 255., 255.], bgr_to_rgb=True)


class AdaptorTargets(NamedTuple):
    """One teacher's targets and the student adaptor's outputs for them, on the teacher's
    feature grid: summaries (B, C) (None when the teacher has none), features (B, C, h, w)."""
    summary: Optional[torch.Tensor]
    target_summary: Optional[torch.Tensor]
    features: torch.Tensor
    target_features: torch.Tensor

def _check_multiple(size, multiple, what):
    """Raise naming ``what`` and the nearest valid sides when ``size`` (H, W) is off-grid."""
    bad = [side for side in size if side % multiple]
    if not bad:
        return
    nearest = tuple(max(multiple, round(side / multiple) * multiple) for side in size)
    neighbours = ' or '.join(str(v) for v in sorted({bad[0] // multiple * multiple,
                                                    (bad[0] // multiple + 1) * multiple} - {0}))
    raise ValueError(f'{what} is not a multiple of {multiple} px: {bad[0]} would fail at '
                     f'that step (valid neighbours: {neighbours}); nearest valid size: '
                     f'{nearest}')


@MODELS.register_module()
class RADIODistiller(BaseModel):
    """Student + adaptors + frozen teachers, trained with feature distillation.

    Args:
        student (dict): :class:`RADIOModel` config. Adaptors missing for a teacher are
            created from ``adaptor_cfg`` and the teacher's widths.
        teachers (list[dict]): teacher configs (``OpenCLIPTeacher``, ``DINOv2Teacher``,
            ``SAMTeacher``...), each with a unique ``name``.
        adaptor_cfg (dict): defaults for created adaptors (hidden_dims, num_inner, ...).
        partitions (list[dict]): see :class:`Partition`; default: one partition with every
            teacher at ``resolutions``. A teacher may be in several partitions (each named):
            its losses are then logged per partition, ``loss_<teacher>_features_<name>``.
        resolutions (list[tuple[int, int]]): student resolutions of the default partition.
        summary_loss (dict): loss on summaries.
        feature_loss (dict): loss on spatial features.
        teacher_losses (dict[str, dict]): per-teacher overrides, e.g.
            ``dict(sam=dict(feature_loss=dict(type='CosineSmoothL1FeatureLoss', loss_weight=2)))``.
        phi_s (dict[str, dict]): teachers whose features are PHI-S standardized, with
            :class:`PHISStandardizer` kwargs (``stats_file`` or ``momentum``).
        data_preprocessor (dict): turns uint8 BGR batches into RGB floats in [0, 1].
        teacher_cache (str | None): a folder written by ``tools/cache_teachers.py`` from
            this config: the teachers' targets come from it (:class:`CachedTeacher`, with
            batches of :class:`CachedTeacherViews`) instead of running the teachers. The
            cache must have been made by exactly ``teachers`` and ``data_preprocessor``.
        trust_cache_manifest (bool): accept a cache whose teacher checkpoint the config names
            by another file name that is absent here (it cannot be hashed and compared).
    """

    def __init__(self, student, teachers, adaptor_cfg=None, partitions=None,
                 resolutions=((256, 256), ), summary_loss=dict(type='CosineSummaryLoss'),
                 feature_loss=dict(type='CosineSmoothL1FeatureLoss'), teacher_losses=None,
                 phi_s=None, data_preprocessor=None, teacher_cache=None,
                 trust_cache_manifest=False, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(DEFAULT_DATA_PREPROCESSOR)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.teacher_cache = teacher_cache
        # Geometry before teachers: a resolution off the student's grid must not wait for
        # minutes of teacher loading (the backbone is sized on the meta device, no memory).
        self._check_resolutions(
            [Partition(**p) for p in partitions] if partitions else
            [Partition([], 1.0, resolutions)], meta_backbone(student['backbone']))
        if not teacher_cache:  # a cache needs no teacher weights
            check_teacher_weights(teachers)  # every missing file in one message, before building
        self.teachers = nn.ModuleDict()
        built = (cached_teachers(teacher_cache, teachers, data_preprocessor,
                                 trust_cache_manifest) if teacher_cache
                 else [MODELS.build(cfg) for cfg in teachers])
        for teacher in built:
            if teacher.name in self.teachers:
                raise ValueError(f'two teachers are named {teacher.name!r}; names must differ')
            self.teachers[teacher.name] = teacher
        self.student_cfg = self._complete_student_cfg(student, adaptor_cfg or {})
        # PHI-S statistics live in the adaptor that learned the standardized targets, so the
        # student maps its features back to the teacher's space at inference; the saved
        # config reads them from the checkpoint, the stats file may not travel with it.
        build_cfg = copy.deepcopy(self.student_cfg)
        for name, cfg in (phi_s or {}).items():
            if name not in self.teachers:
                raise ValueError(f'phi_s names unknown teacher {name!r}; teachers are '
                                 f'{list(self.teachers)}')
            build_cfg['adaptors'][name]['phi_s'] = dict(cfg)
            self.student_cfg['adaptors'][name]['phi_s'] = dict(from_checkpoint=True)
        self.student = MODELS.build(build_cfg)
        self.partitions = [Partition(**p) for p in partitions] if partitions else [
            Partition(list(self.teachers), 1.0, resolutions)]
        self._check_partitions()
        self._key_suffixes = key_suffixes(self.partitions)
        check_teacher_inputs(self.partitions, self.teachers, teacher_cache)
        teacher_losses = teacher_losses or {}
        self.summary_losses = nn.ModuleDict()
        self.feature_losses = nn.ModuleDict()
        for name in self.teachers:
            override = teacher_losses.get(name, {})
            self.summary_losses[name] = MODELS.build(override.get('summary_loss', summary_loss))
            self.feature_losses[name] = MODELS.build(override.get('feature_loss', feature_loss))
        # Views of the adaptors' standardizers (registered there, saved once).
        self.phi_s = {name: self.student.adaptors[name].phi_s for name in phi_s or {}}
        # Teachers come from their own checkpoints: never saved with (or loaded from) ours.
        self._register_state_dict_hook(self._drop_teacher_weights)
        self._register_load_state_dict_pre_hook(self._keep_teacher_weights)

    # -- construction -------------------------------------------------------------------
    def _complete_student_cfg(self, student, adaptor_cfg):
        """The student config with one adaptor per teacher, explicit (saved in checkpoints)."""
        cfg = copy.deepcopy(student)
        backbone = MODELS.build(copy.deepcopy(cfg['backbone']))
        num_slots = getattr(backbone, 'num_summary_tokens', 1)
        adaptors = dict(cfg.get('adaptors') or {})
        summary_teachers = [n for n, t in self.teachers.items() if t.summary_dim is not None]
        if backbone.__class__.__name__ == 'RADIOViT' and len(summary_teachers) > num_slots:
            raise ValueError(
                f'the student has {num_slots} summary tokens but {len(summary_teachers)} '
                f'teachers have summaries ({summary_teachers}); set '
                f'backbone.num_summary_tokens={len(summary_teachers)}')
        for name, teacher in self.teachers.items():
            if name in adaptors:
                continue
            slot = summary_teachers.index(name) if name in summary_teachers else 0
            adaptors[name] = dict(
                dict(hidden_dims=1024, num_inner=1), **adaptor_cfg,
                in_dims=backbone.embed_dims, feature_dims=teacher.feature_dim,
                summary_dims=teacher.summary_dim, summary_slot=min(slot, num_slots - 1))
        cfg['adaptors'] = adaptors
        cfg.setdefault('type', 'RADIOModel')
        if backbone.__class__.__name__ == 'RADIOViT' and summary_teachers:
            # The backbone summary (k-NN, probes) is the summary teachers' tokens only, as the
            # official model's summary_idxs; a spare token would add untrained dimensions.
            cfg.setdefault('summary_idxs', sorted({adaptors[n].get('summary_slot', 0)
                                                   for n in summary_teachers}))
        return cfg

    def _check_partitions(self):
        seen = [n for p in self.partitions for n in p.teachers]
        unknown = set(seen) - set(self.teachers)
        if unknown:
            raise ValueError(f'partitions name unknown teachers {sorted(unknown)}; '
                             f'teachers are {list(self.teachers)}')
        unused = set(self.teachers) - set(seen)
        if unused:
            raise ValueError(f'teachers {sorted(unused)} are in no partition')
        total = sum(p.batch_fraction for p in self.partitions)
        if abs(total - 1) > 1e-6:
            raise ValueError(f'partition batch_fraction values sum to {total}, not 1')

    @staticmethod
    def _check_resolutions(partitions, backbone):
        """Fail at build time, not at the milestone that reaches an impossible size.

        Every student resolution of every stage must be a multiple of the student's size
        multiple (the patch size of a ViT, 32 for E-RADIO). Teachers resize the batch to
        their own ``input_size``, which they check against their patch grid when built.
        """
        multiple = backbone.size_multiple
        for partition in partitions:
            for start, resolutions in partition.stages():
                for resolution in resolutions:
                    stage = f'from iteration {start}' if start else 'initial'
                    _check_multiple(
                        resolution, multiple,
                        f'partition {partition.describe()} resolution {resolution} ({stage} '
                        f'stage) for the {type(backbone).__name__} student')

    @staticmethod
    def _drop_teacher_weights(module, state_dict, prefix, local_metadata):
        for key in [k for k in state_dict if k.startswith(prefix + 'teachers.')]:
            del state_dict[key]

    def _keep_teacher_weights(self, state_dict, prefix, *args):
        for key, value in self.teachers.state_dict().items():
            state_dict.setdefault(f'{prefix}teachers.{key}', value)

    def train(self, mode=True):
        super().train(mode)
        for teacher in self.teachers.values():
            teacher.train(False)
        return self

    # -- running ------------------------------------------------------------------------
    def forward(self, inputs, data_samples=None, mode='loss'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs)
        if mode == 'tensor':
            return self.student(inputs)
        raise RuntimeError(f'RADIODistiller has no mode {mode!r} (loss, tensor, predict)')

    def split_batch(self, batch_size):
        """Index ranges of each partition; every partition needs at least one image."""
        bounds, start = [], 0
        for i, partition in enumerate(self.partitions):
            last = i == len(self.partitions) - 1
            size = batch_size - start if last else round(partition.batch_fraction * batch_size)
            if size < 1:
                raise ValueError(f'batch of {batch_size} leaves no image for partition '
                                 f'{partition.describe()}; raise the batch size')
            bounds.append(slice(start, start + size))
            start += size
        return bounds

    def loss(self, images, data_samples=None):
        """images: (B, 3, H, W) RGB in [0, 1] -> dict of losses and logged similarities.

        ``data_samples`` (B of them) carry the targets when teachers are cached.
        """
        step = MessageHub.get_current_instance().get_info('iter', 0)
        losses = {}
        for i, (partition, part) in enumerate(zip(self.partitions,
                                                  self.split_batch(images.shape[0]))):
            x = images[part]
            samples = None if data_samples is None else data_samples[part]
            resolution = partition.resolution(step)
            radio = self.student.forward_backbone(resize_images(x, resolution, 'bilinear'))
            for name in partition.teachers:
                losses.update(self._teacher_losses(
                    name, x, radio, samples, self._key_suffixes[i, name],
                    partition.teacher_inputs[name], resolution))
        return losses

    def predict(self, images):
        """images: (B, 3, H, W) RGB in [0, 1] -> one dict per image with, for each teacher,
        ``<name>_feature_cos`` (mean over its feature cells), ``<name>_feature_mse`` (mean
        over cells and channels) and ``<name>_summary_cos`` (teachers with a summary): the
        training log's similarities, per image, with the student at ``eval_resolution``;
        a teacher in several partitions is scored in each, its keys ending with the
        partition's name like its losses."""
        scores = {}
        for i, partition in enumerate(self.partitions):
            radio = self.student.forward_backbone(
                resize_images(images, partition.eval_resolution, 'bilinear'))
            for name in partition.teachers:
                out = self._adaptor_targets(name, images, radio, None,
                                            partition.teacher_inputs[name],
                                            partition.eval_resolution)
                suffix = self._key_suffixes[i, name]
                scores[f'{name}_feature_cos{suffix}'] = F.cosine_similarity(
                    out.features, out.target_features, dim=1).flatten(1).mean(1)
                scores[f'{name}_feature_mse{suffix}'] = (
                    out.features - out.target_features).square().flatten(1).mean(1)
                if out.summary is not None:
                    scores[f'{name}_summary_cos{suffix}'] = F.cosine_similarity(
                        out.summary, out.target_summary, dim=1)
        return [{key: float(values[i]) for key, values in scores.items()}
                for i in range(images.shape[0])]

    def _adaptor_targets(self, name, images, radio, data_samples=None, teacher_input=None,
                         student_hw=None):
        """Teacher ``name`` on ``images`` (or its cached targets, carried by
        ``data_samples``) and the student's adaptor on its ``radio`` output.

        ``teacher_input`` is what the teacher sees of the images (the partition's: whole
        image, tiles or mosaic, :mod:`.teacher_inputs`; by default the whole image), for a
        student at ``student_hw``."""
        teacher = self.teachers[name]
        target = (teacher_input or WholeImage())(teacher, images, student_hw, data_samples)
        summary, features = self.student.adaptors[name](radio, standardized=True)
        h, w = target.features.shape[-2:]
        target_features = target.features
        if name in self.phi_s:
            target_features = self.phi_s[name](target_features)
        features = tokens_to_nchw(features, radio.hw, self.student.feature_scale(name))
        features = F.interpolate(features, size=(h, w), mode='bilinear', align_corners=False)
        if target.summary is None or summary is None:
            return AdaptorTargets(None, None, features, target_features)
        return AdaptorTargets(summary, target.summary, features, target_features)

    def _teacher_losses(self, name, images, radio, data_samples=None, suffix='',
                        teacher_input=None, student_hw=None):
        """Losses and logged similarities of teacher ``name``, keys ending with ``suffix``
        (the partition's, for a teacher in several partitions)."""
        out = self._adaptor_targets(name, images, radio, data_samples, teacher_input,
                                    student_hw)
        losses = {f'loss_{name}_features{suffix}': self.feature_losses[name](
                      out.features, out.target_features),
                  f'{name}_feature_cos{suffix}': 1 - cosine_distance(
                      out.features.detach(), out.target_features, dim=1)}
        if out.summary is not None:
            losses[f'loss_{name}_summary{suffix}'] = self.summary_losses[name](
                out.summary, out.target_summary)
            losses[f'{name}_summary_cos{suffix}'] = 1 - cosine_distance(
                out.summary.detach(), out.target_summary)
        return losses
