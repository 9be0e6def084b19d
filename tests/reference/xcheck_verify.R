# Independent cross-checks (VERIFY helper), part 2: where ipdma's likelihood is above R's.
#  1. lme4's own deviance function evaluated at ipdma's optimum (xcheck_ipdma_points.json,
#     written by xcheck_points.py): confirms the higher value with R's code.
#  2. the stratified-residual ML fit of xcheck_paper.csv, where nlme::lme stops at a boundary,
#     refitted with glmmTMB(dispformula = ~ 0 + trial) as a second R reference.
# Writes xcheck_verify.json.   Rscript tests/reference/xcheck_verify.R
suppressPackageStartupMessages({library(lme4); library(glmmTMB); library(jsonlite)})
options(na.action = "na.omit")
here <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else "tests/reference"
})
read <- function(name) read.csv(file.path(here, sprintf("xcheck_%s.csv", name)),
                                 fileEncoding = "UTF-8", stringsAsFactors = FALSE)
points <- fromJSON(file.path(here, "xcheck_ipdma_points.json"))
paper <- y ~ 0 + factor(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)

d <- read("large")
dev <- lmer(paper, data = d, REML = TRUE, devFunOnly = TRUE)
p <- points$large_paper_reml
out <- list(large_paper_reml = list(theta = p$theta, reml_loglik_at_ipdma = -dev(p$theta) / 2))

d <- read("paper")
m <- glmmTMB(y ~ 0 + factor(trial) + base + treat + (0 + treat | trial) + (0 + base | trial),
             dispformula = ~ 0 + trial, data = d, REML = FALSE)
out$paper_stratified_ml_glmmtmb <- list(
  fixef = as.list(fixef(m)$cond), se = as.list(sqrt(diag(vcov(m)$cond))),
  var_treat = as.numeric(VarCorr(m)$cond[[1]]), var_base = as.numeric(VarCorr(m)$cond[[2]]),
  sigma_by_trial = as.list(setNames(sqrt(exp(fixef(m)$disp)), sub("trial", "", names(fixef(m)$disp)))),
  loglik = as.numeric(logLik(m)), messages = m$fit$message, pdHess = m$sdr$pdHess)
out$versions <- list(lme4 = as.character(packageVersion("lme4")),
                     glmmTMB = as.character(packageVersion("glmmTMB")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "xcheck_verify.json"), useBytes = TRUE)
