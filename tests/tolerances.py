"""Every numerical tolerance the test suite uses, named and justified once.

Agreement with R is asserted with these names only; a test never writes a bare rtol.
Each area keeps its own section; add new constants with a one-line reason.
"""

# --- linear mixed models vs lme4 / nlme / lmerTest (tests/models) -------------------------

# --- logistic mixed models vs lme4 glmer / glmmTMB (tests/models) -------------------------

# --- aggregate meta-analysis vs metafor (tests/meta) --------------------------------------
# Closed-form quantities (FE, DL, escalc, Q, I2, CIs given tau2): only float rounding differs.
META_RTOL = 1e-10
# Iterative tau2 (REML/ML/PM, Q-profile CI): ipdma solves each equation with Brent to ~1e-15;
# the fixtures use metafor with threshold 1e-10 / tol 1e-12, so they agree far below 1e-6.
META_TAU2_RTOL = 1e-6
# tau2 on the boundary: metafor's Fisher scoring stops at ~1e-12 instead of exactly 0.
META_TAU2_ATOL = 1e-9
# Everything downstream of an iterative tau2 (estimate, se, CI, PI, I2, H2, weights).
META_ITERATIVE_RTOL = 1e-6
# Per-trial logistic ANCOVA: Newton to 1e-12 relative deviance change vs glm(epsilon=1e-14);
# observed agreement ~2e-9 (the SE from the final vs previous IRLS weights).
META_LOGISTIC_RTOL = 1e-7

# --- analysis grid (tests/analysis) --------------------------------------------------------
# A grid cell vs the same model written out by hand: same data, same engine, same optimizer;
# only the column order of the design may differ, so estimates agree to optimizer precision.
GRID_VS_DIRECT_RTOL = 1e-6
