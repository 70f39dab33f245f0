"""io/l2a sub-package."""
