"""sen2cor: an open-source Sentinel-2 Level-2A processor compatible with ESA's Sen2Cor 2.11."""

import logging

from sen2cor._version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
