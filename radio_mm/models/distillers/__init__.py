from .partition import Partition
from .radio_distiller import RADIODistiller

__all__ = ['RADIODistiller', 'Partition']
