"""Pure-numpy design-space core: specs, RegNet generation, analytic complexity, sampling.

Nothing here imports torch, a database or a web framework, so the math can be tested and reused
on its own and is cheap to import from every other layer.
"""
