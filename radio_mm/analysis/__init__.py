"""Measurements and pictures of models: speed and memory, feature PCA, mode switching."""
from radio_mm.visualization import feature_pca_picture, radio_feature_maps

from .benchmark import benchmark_distill_step, benchmark_model, machine_info, results_table
from .images import image_paths, load_images, read_rgb
from .mode_switch import adaptor_teacher_errors, mean_by_resolution, plot_errors, write_csv
from .model_spec import build_model, describe_spec, load_model_cfg

__all__ = [
    'benchmark_model', 'benchmark_distill_step', 'machine_info', 'results_table',
    'feature_pca_picture', 'radio_feature_maps', 'image_paths', 'load_images', 'read_rgb',
    'adaptor_teacher_errors', 'mean_by_resolution', 'plot_errors', 'write_csv', 'build_model',
    'describe_spec', 'load_model_cfg'
]
