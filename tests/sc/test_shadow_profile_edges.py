"""Cloud-height profiles of (almost) ground-level clouds project no shadow instead of failing."""

from __future__ import annotations

import numpy as np

from sen2cor.sc.parallax import CloudHeightStats
from sen2cor.sc.shadow import cloud_profile, geometric_shadow


def test_ground_level_clouds_project_no_shadow() -> None:
    mask = np.zeros((120, 120), bool)
    mask[40:60, 40:60] = True
    valid = np.ones_like(mask)
    for mean, std in ((2.0, 1.0), (-30.0, 2.0)):  # mean + 4σ below one 20 m pixel / below the ground
        profile = cloud_profile(CloudHeightStats(mean, std, 0.0, 10.0, 12), 20)
        assert profile.size == 0 or not np.any(profile > 0)
        prob = geometric_shadow(mask, valid, profile, 150.0, 35.0)
        assert prob.shape == mask.shape and prob.dtype == np.float32 and not prob.any()
    # a real profile still projects a shadow next to the cloud
    prob = geometric_shadow(mask, valid, cloud_profile(CloudHeightStats(2000.0, 300.0, 1500.0, 2600.0, 40), 20),
                            150.0, 35.0)
    assert prob.max() > 0.1
