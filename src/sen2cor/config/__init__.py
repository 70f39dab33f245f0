"""Configuration: the four Sen2Cor GIPP files, ``SEN2COR_HOME`` and the merged run settings.

Re-exports only; see :mod:`sen2cor.config.gipp`, :mod:`sen2cor.config.settings`, :mod:`sen2cor.config.home`.
"""

from sen2cor.config.settings import GippFiles, L2ASettings, RunOptions, load_settings

__all__ = ["GippFiles", "L2ASettings", "RunOptions", "load_settings"]
