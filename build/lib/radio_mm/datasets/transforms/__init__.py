from .pack_image import PackImageInputs

__all__ = ['PackImageInputs']
