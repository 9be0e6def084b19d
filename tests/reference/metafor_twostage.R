# Reference two-stage IPD meta-analysis (per-trial ANCOVA by lm/glm, pooled by metafor rma).
# Run from the repository root:  Rscript tests/reference/metafor_twostage.R
# Writes tests/reference/metafor_twostage_ipd.csv (simulated IPD, seed 2020) and
# tests/reference/metafor_twostage.json (per-trial estimates and pooled REML / DL results).
suppressMessages(library(metafor))
library(jsonlite)
out_dir <- "tests/reference"
set.seed(2020)
sizes <- c(40, 64, 120, 28, 90, 75, 50)
rows <- list()
for (i in seq_along(sizes)) {
  n <- sizes[i]
  treat <- rep(c(1, 0), length.out = n)
  baseline <- round(rnorm(n, 55 + 3 * i, 15), 1)
  age <- round(rnorm(n, 40 + 2 * i, 10), 1)
  female <- rbinom(n, 1, 0.3 + 0.05 * i)
  if (i == 4) female[] <- 1  # no variation in the modifier: trial drops out of the interaction
  effect <- -8 + rnorm(1, 0, 4) - 5 * (female - mean(female))
  pain <- round(10 + 0.6 * baseline + effect * treat + rnorm(n, 0, 14), 1)
  lp <- -1 + 0.01 * (baseline - 55) + (0.9 + rnorm(1, 0, 0.3)) * treat
  recovery <- rbinom(n, 1, plogis(lp))
  d <- data.frame(trial = sprintf("trial%02d", i), pid = sprintf("t%02d-%03d", i, seq_len(n)),
                  treat = treat, pain0 = baseline, age = age, female = female, pain = pain,
                  recovery = recovery)
  d$pain[sample(n, 3)] <- NA
  d$age[sample(n, 2)] <- NA
  rows[[i]] <- d
}
ipd <- do.call(rbind, rows)
write.csv(ipd, file.path(out_dir, "metafor_twostage_ipd.csv"), row.names = FALSE, na = "")

tight <- list(threshold = 1e-10, maxiter = 10000)
per_trial <- function(formula, term, family = NULL, modifier = NULL) {
  out <- list()
  for (tr in unique(ipd$trial)) {
    d <- ipd[ipd$trial == tr, ]
    if (!is.null(modifier)) {
      d <- d[complete.cases(d[, c("pain", "pain0", "treat", modifier)]), ]
      d$mod_c <- d[[modifier]] - mean(d[[modifier]])
      if (var(d$mod_c) == 0) next
    }
    # glm with a tight epsilon: at the default (1e-8) R's standard errors come from the
    # weights of the previous IRLS step and differ from the converged ones by ~1e-5
    fit <- if (is.null(family)) lm(formula, data = d) else
      glm(formula, family = family, data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
    cf <- summary(fit)$coefficients
    out[[tr]] <- list(trial = tr, estimate = cf[term, 1], se = cf[term, 2], n = nobs(fit))
  }
  out
}
pooled <- function(est) {
  yi <- sapply(est, `[[`, "estimate"); sei <- sapply(est, `[[`, "se")
  res <- list()
  for (m in c("REML", "DL")) {
    r <- rma(yi, sei = sei, method = m, control = tight)
    res[[m]] <- list(estimate = as.numeric(r$beta), se = r$se, ci_low = r$ci.lb,
                     ci_high = r$ci.ub, tau2 = r$tau2, i2 = r$I2, q = r$QE)
  }
  list(trials = unname(est), pooled = res)
}
out <- list(
  treatment = pooled(per_trial(pain ~ pain0 + treat, "treat")),
  interaction_female = pooled(per_trial(pain ~ pain0 + treat * mod_c, "treat:mod_c",
                                        modifier = "female")),
  interaction_age = pooled(per_trial(pain ~ pain0 + treat * mod_c, "treat:mod_c",
                                     modifier = "age")),
  recovery = pooled(per_trial(recovery ~ pain0 + treat, "treat", family = binomial))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out_dir, "metafor_twostage.json"))
