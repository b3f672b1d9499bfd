from .feature_pca import feature_pca_panel, pca_rgb

__all__ = ['pca_rgb', 'feature_pca_panel']
