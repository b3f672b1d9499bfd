from .feature_maps import feature_pca_picture, radio_feature_maps
from .feature_pca import feature_pca_panel, pca_rgb

__all__ = ['pca_rgb', 'feature_pca_panel', 'feature_pca_picture', 'radio_feature_maps']
