"""io sub-package."""
