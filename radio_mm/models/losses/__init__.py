from .distill_losses import (
                             CosineSmoothL1FeatureLoss,
                             CosineSummaryLoss,
                             MSEFeatureLoss,
                             cosine_distance,
)
from .phi_s import PHISStandardizer, estimate_phi_s, hadamard_matrix

__all__ = ['CosineSummaryLoss', 'CosineSmoothL1FeatureLoss', 'MSEFeatureLoss',
           'cosine_distance', 'PHISStandardizer', 'estimate_phi_s', 'hadamard_matrix']
