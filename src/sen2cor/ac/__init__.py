"""ac sub-package."""
