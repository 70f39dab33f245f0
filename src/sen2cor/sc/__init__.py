"""sc sub-package."""
