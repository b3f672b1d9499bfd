from .inference import RADIOInferencer, inference_model, init_model
from .model_loading import radio_model
from .radio_sam_predictor import RADIOSamPredictor
from .run_config import build_test_runner, build_train_runner, load_config

__all__ = ['radio_model', 'RADIOSamPredictor', 'build_train_runner', 'build_test_runner',
           'load_config', 'init_model', 'inference_model', 'RADIOInferencer']
