"""A RADIO model as a teacher: distill a release (C-RADIOv4-H...) into a smaller student.

Most users with small GPUs want C-RADIOv4's knowledge in an E-RADIO or a ViT-B (NVlabs/RADIO
issues #10, #146 ask for training code): the release's backbone and adaptor outputs are the
targets. The model is what ``radio_model(pretrained)`` returns
(``radio_mm/apis/model_loading.py``, the one loader of release files, radio_mm checkpoints and
Hugging Face folders); models do not import ``apis``, so it is looked up in
``radio_mm.registry.FUNCTIONS`` under :data:`RADIO_MODEL_LOADER` (docs/architecture.md).

Targets: ``summary_from`` / ``features_from`` name the output to take, ``'backbone'`` (the
student's own summary and features, after the release's feature normalizer) or an adaptor
(``'siglip2-g'``, ``'dino_v3'``, ``'sam3'``...: the release's imitation of that teacher).
Adaptor features that a head upsamples (``fd_upsample_factor``) come on the finer grid, so
``patch_size`` is the model's divided by that factor.

The model normalizes its input itself (its input conditioner), so the teacher hands it
[0, 1] images resized to ``input_size``.
"""
import torch

from radio_mm.registry import MODELS, registered_function

from .base_teacher import BaseTeacher

# radio_mm.apis.model_loading registers radio_model under this name
RADIO_MODEL_LOADER = 'radio_model'


def radio_weights_hint():
    return ('an official RADIO release file (.pth.tar; tools/fetch_teachers.py --teachers '
            'c-radio_v4-h fetches the official default), a radio_mm checkpoint, or a local '
            'file of any release listed by radio_mm.formats.official_releases.RELEASES')


@MODELS.register_module()
class RADIOTeacher(BaseTeacher):
    """A RADIO model's backbone or adaptor outputs as targets.

    Args:
        pretrained (str | None): a file ``radio_model`` reads (official ``.pth.tar`` release,
            radio_mm checkpoint). None builds ``model`` with random weights.
        model (dict | None): a ``RADIOModel`` config for random weights (toy teachers in
            tests); refused together with ``pretrained`` (the file describes its model).
        summary_from (str | None): ``'backbone'`` or an adaptor name; None: no summary.
        features_from (str): ``'backbone'`` or an adaptor name.
        input_size (int | tuple): (H, W) the teacher runs at; a multiple of the model's
            ``min_resolution_step``. C-RADIOv4's preferred resolution is 512 (its release
            record); choose what your student's resolutions need.
        name (str): teacher name the distiller pairs with student heads.
        dtype (str | None): ``'bf16'`` to run under autocast; the model's weights are float32.
    """

    def __init__(self, pretrained=None, model=None, summary_from='backbone',
                 features_from='backbone', input_size=512, name='radio', dtype=None):
        if (pretrained is None) == (model is None):
            raise ValueError('RADIOTeacher: give either pretrained (a RADIO checkpoint file, '
                             'which describes its model) or model (a RADIOModel config for '
                             f'random weights), got pretrained={pretrained!r}, model={model!r}')
        super().__init__(name=name, arch=pretrained or 'RADIOModel', pretrained=pretrained,
                         dtype=dtype, weights_hint=radio_weights_hint())
        adaptors = sorted({summary_from, features_from} - {None, 'backbone'})
        if pretrained is not None:
            # float32 weights: a bf16 release runs under this teacher's autocast instead
            self.encoder = registered_function(RADIO_MODEL_LOADER)(
                pretrained, False, adaptor_names=adaptors, dtype=torch.float32)
        else:
            with self.seeded_random_init():
                self.encoder = MODELS.build(model)
            self.load_pretrained()  # warns: random weights
        outputs = ['backbone', *self.encoder.adaptor_names]
        for role, output in (('summary_from', summary_from), ('features_from', features_from)):
            if output is not None and output not in outputs:
                raise ValueError(f'{self.describe()}: {role}={output!r} is not an output of '
                                 f'this model; it has {outputs}')
        self.summary_from = summary_from
        self.features_from = features_from
        self.input_size = (input_size, input_size) if isinstance(input_size, int) else \
            tuple(input_size)
        step = self.encoder.min_resolution_step
        if self.input_size[0] % step or self.input_size[1] % step:
            raise ValueError(f'{self.describe()}: input_size {self.input_size} must be a '
                             f'multiple of the model\'s min_resolution_step ({step})')
        scale = self.encoder.feature_scale(features_from)
        self.patch_size = self.encoder.patch_size // scale
        self.set_normalization((0., 0., 0.), (1., 1., 1.))  # the model's conditioner does it
        self.freeze()
        self.summary_dim, self.feature_dim = self._probe_dims(step)

    def _probe_dims(self, side):
        """(summary width or None, feature width) from one forward of a (1, 3, side, side)."""
        summary, features = self.encode(torch.zeros(1, 3, side, side))
        return (None if summary is None else summary.shape[-1]), features.shape[1]

    @torch.no_grad()
    def encode(self, x):
        outputs = self.encoder.forward_outputs(self.encoder.forward_backbone(x), 'NCHW')
        summary = None if self.summary_from is None else outputs[self.summary_from].summary
        return summary, outputs[self.features_from].features
