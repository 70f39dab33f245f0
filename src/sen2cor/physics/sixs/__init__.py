"""Generation of our own Sentinel-2 look-up tables with the 6S radiative-transfer code.

Modules: :mod:`.runner` (6S input decks and output parsing), :mod:`.aerosol` (aerosol models that
reproduce Sen2Cor's rural and maritime tables), :mod:`.spectral` (spectral response table, 6S reference
wavelengths, band integration), :mod:`.gas` (gas-transmittance tables), :mod:`.scattering` (chunked
scattering runs), :mod:`.assemble` (combination into an :class:`~sen2cor.physics.lut.AtmosphericLut`).
Nothing here runs 6S at import; the generator is driven by ``tools/luts/generate.py`` (``make luts``).
"""
