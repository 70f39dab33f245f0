"""pipeline sub-package."""
