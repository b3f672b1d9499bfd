from .adaptor_mlp import MLP_VERSIONS, AdaptorMLP, AdaptorMLPv1
from .attn_fd_head import AttnFDHead
from .head_versions import FEATURE_HEAD_VERSIONS, adaptor_mlp_from_state_dict, mlp_version_of
from .teacher_adaptor import RadioOutput, TeacherAdaptor

__all__ = ['AdaptorMLP', 'AttnFDHead', 'FEATURE_HEAD_VERSIONS', 'AdaptorMLPv1', 'MLP_VERSIONS',
           'TeacherAdaptor', 'RadioOutput',
           'adaptor_mlp_from_state_dict', 'mlp_version_of']
