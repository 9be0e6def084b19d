# Reference fits for the logistic mixed-model engine (tests/models/test_logistic*.py).
# Writes glmm_cbpp.csv and glmm_fits.json next to this script.
#   Rscript tests/reference/glmm_fit.R        (lme4 1.1-31, glmmTMB 1.1.5, jsonlite)
# The simulated datasets glmm_ipd_*.csv come from glmm_simulate.py.
suppressPackageStartupMessages({library(lme4); library(glmmTMB); library(jsonlite)})
here <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else "tests/reference"
})
# tolPwrss: lme4's inner PIRLS stops at a relative change of 1e-7 by default, which leaves
# its Laplace log-likelihood up to ~1e-4 below the value at the exact conditional modes
# (glmmTMB and ipdma agree to 1e-10 there) and puts noise into the finite-difference
# Hessian behind its SEs (1e-3 relative). With 1e-13 glmer reaches the same optimum.
ctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10),
                     calc.derivs = TRUE, tolPwrss = 1e-13)

glmer_info <- function(fit, seconds) {
  vc <- lapply(VarCorr(fit), function(m) unclass(m)[, , drop = FALSE])
  re <- ranef(fit)[[1]]
  list(
    fixef = as.list(fixef(fit)),
    se = as.list(sqrt(diag(as.matrix(vcov(fit))))),
    loglik = as.numeric(logLik(fit)),
    deviance = deviance(fit),
    theta = as.numeric(getME(fit, "theta")),
    varcorr = lapply(vc, function(m) list(names = colnames(m), matrix = unname(m))),
    ranef = list(trial = rownames(re), values = lapply(as.list(re), as.numeric)),
    nagq = fit@devcomp$dims[["nAGQ"]],
    seconds = seconds,
    messages = as.list(fit@optinfo$conv$lme4$messages)
  )
}

tmb_info <- function(fit, seconds) {
  vc <- lapply(VarCorr(fit)$cond, function(m) unclass(m)[, , drop = FALSE])
  list(
    fixef = as.list(fixef(fit)$cond),
    se = as.list(sqrt(diag(vcov(fit)$cond))),
    loglik = as.numeric(logLik(fit)),
    varcorr = lapply(vc, function(m) list(names = colnames(m), matrix = unname(m))),
    seconds = seconds
  )
}

run_glmer <- function(formula, data, nagq = 1) {
  t <- system.time(fit <- glmer(formula, data = data, family = binomial, nAGQ = nagq,
                                control = ctrl))
  glmer_info(fit, unname(t["elapsed"]))
}

run_tmb <- function(formula, data) {
  t <- system.time(fit <- glmmTMB(formula, data = data, family = binomial))
  tmb_info(fit, unname(t["elapsed"]))
}

out <- list(versions = list(lme4 = as.character(packageVersion("lme4")),
                            glmmTMB = as.character(packageVersion("glmmTMB")),
                            R = R.version.string))

# lme4's cbpp: aggregated binomial responses
cb <- as.data.frame(cbpp)
cb$period <- as.character(cb$period)
write.csv(cb, file.path(here, "glmm_cbpp.csv"), row.names = FALSE)
f_cbpp <- cbind(incidence, size - incidence) ~ period + (1 | herd)
out$cbpp <- list(formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
                 laplace = run_glmer(f_cbpp, cb, 1), agq25 = run_glmer(f_cbpp, cb, 25),
                 tmb = run_tmb(f_cbpp, cb))

paper <- rec ~ 0 + trial + base + treat + (0 + treat | trial)
for (name in c("paper", "small", "homog")) {
  d <- read.csv(file.path(here, sprintf("glmm_ipd_%s.csv", name)))
  out[[name]] <- list(formula = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)",
                      laplace = run_glmer(paper, d, 1), agq25 = run_glmer(paper, d, 25),
                      tmb = run_tmb(paper, d))
  message(name, " done")
}

d <- read.csv(file.path(here, "glmm_ipd_two.csv"))
two <- rec ~ 0 + trial + base + treat + (0 + treat | trial) + (0 + base | trial)
corr <- rec ~ 0 + trial + base + treat + (0 + treat + base | trial)
three <- rec ~ 0 + trial + base + treat + x + (0 + treat | trial) + (0 + base | trial) +
  (0 + x | trial)
out$two <- list(formula = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)",
                laplace = run_glmer(two, d), tmb = run_tmb(two, d))
out$corr <- list(formula = "rec ~ 0 + C(trial) + base + treat + (0 + treat + base | trial)",
                 laplace = run_glmer(corr, d), tmb = run_tmb(corr, d))
out$three <- list(formula = "rec ~ 0 + C(trial) + base + treat + x + (0 + treat | trial) + (0 + base | trial) + (0 + x | trial)",
                  laplace = run_glmer(three, d), tmb = run_tmb(three, d))

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "glmm_fits.json"))
message("wrote glmm_fits.json")
