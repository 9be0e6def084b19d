# Reference for the one-stage logistic imputation model with common slopes
# (ipdma.impute._pooled.joint_logistic): R's glm on the same data, with a trial-specific
# intercept and treatment coefficient (each arm's level) and common slopes,
#   z ~ 0 + trial + trial:T + x1 + x2 + T:x1
# fitted by maximum likelihood (ipdma's weak prior is switched off in the test).
# Writes impute_joint_logistic.csv (the data) and impute_joint_logistic.json (estimates,
# the common slopes' covariance, the maximized log-likelihood).
#   Rscript tests/reference/impute_joint_logistic.R   (from the repository root)
set.seed(20261130)
parts <- list()
for (k in 1:7) {
  n <- sample(40:120, 1)
  T <- sample(rep(0:1, length.out = n))
  x1 <- rnorm(n)
  x2 <- rbinom(n, 1, 0.4)
  eta <- rnorm(1, -0.3, 0.8) + rnorm(1, 0, 0.3) * T + 0.8 * x1 - 0.5 * x2 + 0.4 * T * x1
  z <- rbinom(n, 1, plogis(eta))
  parts[[k]] <- data.frame(trial = k, T = T, x1 = x1, x2 = x2, z = z)
}
d <- do.call(rbind, parts)
d$trial <- factor(d$trial)
fit <- glm(z ~ 0 + trial + trial:T + x1 + x2 + T:x1, family = binomial, data = d,
           control = glm.control(epsilon = 1e-14, maxit = 100))
co <- coef(fit)
common <- c("x1", "x2", "T:x1")
out <- list(
  intercepts = unname(co[paste0("trial", 1:7)]),
  treatment = unname(co[paste0("trial", 1:7, ":T")]),
  common = unname(co[common]),
  common_cov = unname(vcov(fit)[common, common]),
  loglik = as.numeric(logLik(fit))
)
d$trial <- as.integer(as.character(d$trial))
write.csv(d, "tests/reference/impute_joint_logistic.csv", row.names = FALSE)
writeLines(jsonlite::toJSON(out, digits = NA, pretty = TRUE),
           "tests/reference/impute_joint_logistic.json")
