"""Atmospheric correction (Sen2Cor's ATCOR-derived AC, facts §7): functions on arrays and frozen settings.

Entry point: :func:`sen2cor.ac.correct.correct_resolution` → :class:`sen2cor.ac.result.AcResult`.

Modules: ``parameters`` (GIPP settings), ``constants`` (hard-coded values), ``setup`` (LUT choice, cells,
terrain), ``rt`` (RT tables per geometry), ``ddv`` / ``aot`` (aerosol: DDV, checks, CAMS/DEFAULT fallbacks,
AOT map), ``cams``, ``wv`` (APDA), ``boa`` + ``kernels`` (step-1 reflectance), ``terrain_iter`` and
``adjacency`` (step 2), ``cirrus``, ``brdf``, ``forward`` (independent forward model for closed loops).
No module touches files; none runs anything at import.
"""
