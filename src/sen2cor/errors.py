"""Error and warning hierarchy of the package.

Every user-facing failure is a :class:`Sen2CorError`; the CLI turns it into one line and a
non-zero exit code.  Sub-classes also derive from the matching built-in so that library users
can catch ``ValueError``/``OSError`` as they would with rasterio.
"""

from __future__ import annotations


class Sen2CorError(Exception):
    """Base class of all errors raised on purpose by this package."""


class ProductError(Sen2CorError, ValueError):
    """The input is not a Level-1C product, or its SAFE layout is broken (missing files...)."""


class MetadataError(Sen2CorError, ValueError):
    """A metadata or GIPP XML file is malformed; the message names the file and the element."""


class ConfigError(Sen2CorError, ValueError):
    """A configuration value (GIPP element or command-line option) is outside its allowed set."""


class AuxDataError(Sen2CorError, OSError):
    """Auxiliary data (ECMWF/CAMS GRIB, DEM, ESA-CCI maps, LUTs) cannot be read."""


class ProcessingError(Sen2CorError, RuntimeError):
    """A processing step cannot continue (e.g. sun below the horizon)."""


class FallbackWarning(UserWarning):
    """A documented fallback policy was used (e.g. no DEM: flat terrain)."""


class QuirkWarning(UserWarning):
    """Behaviour deliberately differs from a Sen2Cor quirk (see docs/differences.md)."""
