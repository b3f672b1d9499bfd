from .radio_distiller import Partition, RADIODistiller

__all__ = ['RADIODistiller', 'Partition']
