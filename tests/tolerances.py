"""Every numerical tolerance the test suite uses, named and justified once.

Agreement with R is asserted with these names only; a test never writes a bare rtol.
Each area keeps its own section; add new constants with a one-line reason.
"""

# --- linear mixed models vs lme4 / nlme / lmerTest (tests/models) -------------------------

# --- logistic mixed models vs lme4 glmer / glmmTMB (tests/models) -------------------------

# --- aggregate meta-analysis vs metafor (tests/meta) --------------------------------------
