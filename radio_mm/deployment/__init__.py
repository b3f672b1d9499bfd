"""Model export for deployment runtimes."""
from .onnx_export import check_onnx, export_onnx, export_size_multiple

__all__ = ['export_onnx', 'check_onnx', 'export_size_multiple']
