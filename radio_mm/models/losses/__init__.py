from .angle_balanced_summary import AngleBalancedSummaryLoss, angle, angular_dispersion
from .distill_losses import (
                             CosineSmoothL1FeatureLoss,
                             CosineSummaryLoss,
                             DistillLoss,
                             MSEFeatureLoss,
                             cosine_distance,
)
from .phi_s import PHISStandardizer, estimate_phi_s, hadamard_matrix
from .teacher_balancing import FixedTeacherWeights, TeacherBalancing, UNICTeacherDropping

__all__ = ['CosineSummaryLoss', 'CosineSmoothL1FeatureLoss', 'MSEFeatureLoss', 'DistillLoss',
           'cosine_distance', 'AngleBalancedSummaryLoss', 'angle', 'angular_dispersion',
           'PHISStandardizer', 'estimate_phi_s', 'hadamard_matrix', 'TeacherBalancing',
           'FixedTeacherWeights', 'UNICTeacherDropping']
