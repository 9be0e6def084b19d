# Paule-Mandel between-trial variances (metafor's rma(method = "PM")) for the stage-2
# meta-analysis of ipdma.impute (tests/impute/test_twostage.py). Writes
# impute_paule_mandel.json: three sets of estimates and variances (a) the step-1 intercepts
# of a separated ordered-category imputation (extreme logits with large SEs), (b) moderate
# heterogeneity, (c) none (tau^2 = 0), with metafor's PM and DL tau^2.
library(metafor)
library(jsonlite)
cases <- list(
  separated = list(
    yi = c(-0.03, 1.67, 3.9, 0.15, 0.95, 3.72, 0.19, 1.5, 7.3, 0.31, 1.92, 3.55),
    se = c(0.2, 0.31, 0.8, 0.2, 0.24, 0.69, 0.2, 0.28, 3.48, 0.23, 0.36, 0.68)),
  moderate = list(
    yi = c(0.42, -0.35, 0.91, 0.10, 0.55, -0.12, 0.77, 0.30),
    se = c(0.30, 0.25, 0.40, 0.22, 0.35, 0.28, 0.45, 0.26)),
  homogeneous = list(
    yi = c(0.21, 0.25, 0.18, 0.22, 0.20),
    se = c(0.30, 0.25, 0.40, 0.22, 0.35)))
out <- lapply(cases, function(case) {
  pm <- rma(case$yi, case$se^2, method = "PM", control = list(tol = 1e-12))
  dl <- rma(case$yi, case$se^2, method = "DL")
  list(yi = case$yi, vi = case$se^2, tau2_pm = pm$tau2, tau2_dl = dl$tau2)
})
write_json(out, "impute_paule_mandel.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
