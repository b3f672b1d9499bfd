"""How closely a distilled student reproduces its teachers on held-out images."""
from collections import defaultdict

import numpy as np
from mmengine.evaluator import BaseMetric

from radio_mm.registry import METRICS


@METRICS.register_module()
class TeacherAgreement(BaseMetric):
    """Means over images of what :meth:`RADIODistiller.predict` gives per image.

    For each teacher ``<name>``: ``<name>_summary_cos`` (teachers with a summary) and
    ``<name>_feature_cos``, the cosine similarity of the adaptor's output with the teacher's
    (1 is perfect; the training log's similarities, on images the student never trained on),
    and ``<name>_feature_mse`` (0 is perfect; in PHI-S standardized units for PHI-S teachers).
    Reported as ``distill/<key>``.
    """

    default_prefix = 'distill'

    def process(self, data_batch, data_samples):
        for scores in data_samples:
            self.results.append({key: float(value) for key, value in scores.items()})

    def compute_metrics(self, results):
        values = defaultdict(list)
        for scores in results:
            for key, value in scores.items():
                values[key].append(value)
        if not values:
            raise ValueError('TeacherAgreement got no scores: the model must be a '
                             'RADIODistiller (its predict mode gives them)')
        return {key: float(np.mean(v)) for key, v in sorted(values.items())}
