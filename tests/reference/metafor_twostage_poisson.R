# Reference two-stage IPD meta-analysis of counts: per-trial Poisson ANCOVA with a log
# person-time offset (glm), pooled by metafor rma (log rate ratios).
# Run from the repository root:  Rscript tests/reference/metafor_twostage_poisson.R
# Writes tests/reference/metafor_twostage_poisson_ipd.csv (simulated, seed 20) and
# tests/reference/metafor_twostage_poisson.json.
suppressMessages(library(metafor))
library(jsonlite)
out_dir <- "tests/reference"
set.seed(20)
sizes <- c(45, 80, 120, 30, 95, 60)
rows <- list()
for (i in seq_along(sizes)) {
  n <- sizes[i]
  treat <- rep(c(1, 0), length.out = n)
  base <- rpois(n, 2 + i / 2)
  years <- round(runif(n, 0.5, 2), 2)
  female <- rbinom(n, 1, 0.5)
  lrr <- -0.4 + rnorm(1, 0, 0.25)
  y <- rpois(n, years * exp(-0.5 + 0.15 * base + lrr * treat + 0.2 * female * treat))
  if (i == 4) y[treat == 1] <- 0  # no events in one arm: the trial cannot contribute
  d <- data.frame(trial = sprintf("trial%02d", i), treat = treat, base = base, years = years,
                  female = female, y = y)
  d$y[sample(n, 2)] <- NA
  rows[[i]] <- d
}
ipd <- do.call(rbind, rows)
write.csv(ipd, file.path(out_dir, "metafor_twostage_poisson_ipd.csv"), row.names = FALSE, na = "")

tight <- list(threshold = 1e-10, maxiter = 10000)
per_trial <- function(formula, term, modifier = NULL) {
  out <- list()
  for (tr in unique(ipd$trial)) {
    d <- ipd[ipd$trial == tr & !is.na(ipd$y), ]
    if (tr == "trial04") next
    if (!is.null(modifier)) d$mod_c <- d[[modifier]] - mean(d[[modifier]])
    fit <- glm(formula, family = poisson, data = d, offset = log(years),
               control = glm.control(epsilon = 1e-14, maxit = 100))
    cf <- summary(fit)$coefficients
    # summary.glm's SE uses the IRLS weights of the step before the last (~1e-7 relative off
    # the converged ones here); the exact Fisher information at the final fit is recorded too
    X <- model.matrix(fit)
    exact <- sqrt(diag(solve(crossprod(X, X * fitted(fit)))))[[term]]
    out[[tr]] <- list(trial = tr, estimate = cf[term, 1], se = exact, se_glm = cf[term, 2],
                      n = nobs(fit))
  }
  out
}
pooled <- function(trials, method) {
  est <- sapply(trials, `[[`, "estimate"); se <- sapply(trials, `[[`, "se")  # exact
  res <- rma(est, sei = se, method = method, control = tight)
  list(estimate = as.numeric(res$beta), se = res$se, ci_low = res$ci.lb, ci_high = res$ci.ub,
       tau2 = res$tau2, i2 = res$I2, q = res$QE, k = res$k)
}
treat_trials <- per_trial(y ~ base + treat, "treat")
mod_trials <- per_trial(y ~ base + treat + mod_c + treat:mod_c, "treat:mod_c", "female")
out <- list(
  treatment = list(trials = unname(treat_trials), REML = pooled(treat_trials, "REML"),
                   DL = pooled(treat_trials, "DL")),
  modifier = list(trials = unname(mod_trials), REML = pooled(mod_trials, "REML"))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out_dir, "metafor_twostage_poisson.json"))
