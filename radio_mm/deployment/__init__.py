"""Model export for deployment runtimes."""
from .onnx_export import (
                          check_export_size,
                          check_onnx,
                          check_sizes,
                          export_onnx,
                          export_size_multiple,
)

__all__ = ['export_onnx', 'check_onnx', 'export_size_multiple', 'check_export_size',
           'check_sizes']
