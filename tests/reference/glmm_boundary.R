# Reference fits for the boundary (zero treatment-effect SD) dataset glmm_ipd_boundary.csv
# (written by glmm_boundary_make.py). Writes glmm_boundary.json next to this script.
#   Rscript tests/reference/glmm_boundary.R        (lme4, glmmTMB, jsonlite)
suppressPackageStartupMessages({library(lme4); library(glmmTMB); library(jsonlite)})
here <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else "tests/reference"
})
ctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10),
                     calc.derivs = TRUE)
d <- read.csv(file.path(here, "glmm_ipd_boundary.csv"))
f <- recovery ~ 0 + trial + function0 + treat + (0 + treat | trial)
glmer_info <- function(fit) list(
  fixef = as.list(fixef(fit)),
  se = as.list(sqrt(diag(as.matrix(vcov(fit))))),
  loglik = as.numeric(logLik(fit)),
  theta = as.numeric(getME(fit, "theta")),
  singular = isSingular(fit),
  messages = as.list(fit@optinfo$conv$lme4$messages)
)
lap <- glmer(f, data = d, family = binomial, nAGQ = 1, control = ctrl)
agq <- glmer(f, data = d, family = binomial, nAGQ = 25, control = ctrl)
tmb <- glmmTMB(f, data = d, family = binomial)
out <- list(
  versions = list(lme4 = as.character(packageVersion("lme4")),
                  glmmTMB = as.character(packageVersion("glmmTMB")), R = R.version.string),
  formula = "recovery ~ 0 + C(trial) + function0 + treat + (0 + treat | trial)",
  laplace = glmer_info(lap), agq25 = glmer_info(agq),
  tmb = list(fixef = as.list(fixef(tmb)$cond), se = as.list(sqrt(diag(vcov(tmb)$cond))),
             loglik = as.numeric(logLik(tmb)),
             sd = as.numeric(attr(VarCorr(tmb)$cond$trial, "stddev")))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "glmm_boundary.json"))
message("wrote glmm_boundary.json")
