"""Level-2A product writer (issue 3): SAFE tree, metadata, rasters and the product life cycle.

The pipeline needs four names::

    from sen2cor.io.l2a import L2AWriter, ProcessingInfo, ResolutionResult, l2a_product_name

* :class:`ResolutionResult` – arrays of one resolution run (reflectance, SCL, AOT, WV, …);
* :class:`ProcessingInfo` – product settings and scalar results (metadata, quality report);
* :class:`L2AWriter` – ``open()`` / ``write_resolution()`` / ``write_metadata()`` / ``finalise()``,
  ``has_resolution()`` for Sen2Cor's "already processed" exit, context manager that discards an
  incomplete product;
* :func:`l2a_product_name` – the ``.SAFE`` name.

:func:`read_resolution` decodes a written resolution back to physical values (10 m re-use of 20 m).
Module map: naming, layout, results, encode, aggregate, raster, mtd_base, mtd_product, mtd_tile,
mtd_datastrip, quality, manifest, inspire, writer.
"""

from sen2cor.io.l2a.naming import l2a_product_name
from sen2cor.io.l2a.reread import read_resolution
from sen2cor.io.l2a.results import ProcessingInfo, ResolutionResult
from sen2cor.io.l2a.writer import L2AWriter

__all__ = ["L2AWriter", "ProcessingInfo", "ResolutionResult", "l2a_product_name", "read_resolution"]
