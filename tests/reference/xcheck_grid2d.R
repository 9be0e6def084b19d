# Independent cross-check (VERIFY helper) of the recovery cells of the one-stage analysis grid
# with the paper's random-effects structure, ipdma's default since issue 19: random treatment
# AND random baseline effects (uncorrelated) for global recovery too. Same data and model
# building as xcheck_grid.R (whose cell() this repeats with that random part); glmer Laplace
# (nAGQ = 1, the only quadrature glmer offers with two random effects) and glmmTMB (exact
# Hessian). glmer's bobyqa can stop short in the flat direction of a small baseline SD
# (overall_recovery_any: its log-likelihood 2.3e-4 below ipdma's and glmmTMB's optimum, which
# agree to 1e-6); the test then holds ipdma to glmmTMB and checks that glmer is lower.
# Writes xcheck_grid2d.json.   Rscript tests/reference/xcheck_grid2d.R
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(nlme); library(glmmTMB); library(jsonlite)})
here <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else "tests/reference"
})
lctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-12))
gctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10))
all <- read.csv(file.path(here, "xcheck_grid.csv"), stringsAsFactors = FALSE, check.names = FALSE)
centre <- function(v, g) v - ave(v, g)

cell <- function(outcome, comparison, modifier = NULL, adjusted = FALSE) {
  baseline <- if (outcome == "recovery") "function0" else paste0(outcome, "0")
  d <- if (comparison == "any") all else all[all$treat == 1 | (!is.na(all$comparison) &
                                                               all$comparison == comparison), ]
  adjust <- if (adjusted) setdiff(c("age", "female"), modifier) else character(0)
  needed <- unique(c(outcome, baseline, adjust, modifier))
  d <- d[complete.cases(d[, c("trial", "treat", needed)]), ]
  arms <- tapply(d$treat, d$trial, function(t) length(unique(t)))
  d <- d[d$trial %in% names(arms)[arms == 2], ]
  d$y <- d[[outcome]]
  d$bc <- centre(d[[baseline]], d$trial)
  rhs <- c("0 + factor(trial)", "bc")
  for (a in adjust) {
    d[[paste0(a, "_c")]] <- centre(d[[a]], d$trial)
    d[[paste0("t_", a)]] <- d$treat * d[[paste0(a, "_c")]]
    rhs <- c(rhs, paste0(a, "_c"), paste0("t_", a))
  }
  rhs <- c(rhs, "treat")
  if (!is.null(modifier)) {
    z <- d[[modifier]]
    d$zc <- centre(z, d$trial)
    d$t_within <- d$treat * d$zc
    means <- tapply(z, d$trial, mean)
    d$t_across <- d$treat * (means[d$trial] - mean(means))
    rhs <- c(rhs, "zc", "t_within", "t_across")
  }
  is_bin <- outcome == "recovery"
  random <- "(0 + treat | trial) + (0 + bc | trial)"  # the paper's structure, also for recovery
  f <- as.formula(paste("y ~", paste(rhs, collapse = " + "), "+", random))
  if (is_bin) {
    m <- glmer(f, data = d, family = binomial, nAGQ = 1, control = gctrl)
    cf <- summary(m)$coefficients
    df <- setNames(rep(Inf, nrow(cf)), rownames(cf))
    tmb <- glmmTMB(f, data = d, family = binomial)  # exact (AD) Hessian for the SEs
    tmb_cf <- summary(tmb)$coefficients$cond
  } else {
    m <- lmerTest::lmer(f, data = d, REML = TRUE, control = lctrl)
    cf <- summary(m)$coefficients
    df <- cf[, "df"]
  }
  terms <- if (is.null(modifier)) "treat" else c("t_within", "t_across")
  rows <- lapply(terms, function(term) {
    est <- cf[term, "Estimate"]; se <- cf[term, "Std. Error"]
    q <- if (is_bin) qnorm(0.975) else qt(0.975, df[[term]])
    p <- if (is_bin) 2 * pnorm(-abs(est / se)) else 2 * pt(-abs(est / se), df[[term]])
    tr <- if (is_bin) exp else identity
    list(term = term, coef = est, se = se, df = if (is_bin) "Inf" else df[[term]],
         tmb_coef = if (is_bin) tmb_cf[term, "Estimate"] else NA,
         tmb_se = if (is_bin) tmb_cf[term, "Std. Error"] else NA,
         estimate = tr(est), ci_low = tr(est - q * se), ci_high = tr(est + q * se), p = p)
  })
  list(outcome = outcome, comparison = comparison, modifier = modifier, adjusted = adjusted,
       formula = paste(deparse(f, width.cutoff = 500), collapse = ""),
       nobs = nobs(m), studies = length(unique(d$trial)), loglik = as.numeric(logLik(m)),
       singular = isSingular(m), messages = as.list(m@optinfo$conv$lme4$messages),
       terms = setNames(rows, terms))
}

out <- list(
  overall_recovery_any = cell("recovery", "any"),
  recovery_any_medication = cell("recovery", "any", "medication"),
  recovery_any_bmi_adjusted = cell("recovery", "any", "bmi", adjusted = TRUE)
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "xcheck_grid2d.json"))
