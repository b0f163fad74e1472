"""Weight-ratio models of shape nuisances: regression and classifier models of w(x, ν)/w(x, 0).

A shape nuisance ν that acts by reweighting events is modelled outside the density flow (as
INNFER does): the flow learns p(x | θ) at nominal weights, and a ratio model learns
r(x, ν) = w(x, ν)/w(x, 0); the likelihood uses p(x | θ) r(x, ν) S(ν), where the normalisation
S(ν) = Σw / Σw r(x, ν) makes it integrate to one again (`contract.WeightRatio`).
"""
