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
# 3. bin_aghq: rec ~ 0 + factor(trial) + base + treat + (0 + treat | trial) + (0 + base | trial).
# The exact marginal log-likelihood, sum over trials of log of the double integral of
# prod_j Bernoulli(y_j | eta_j + u1 treat_j + u2 base_j) N(u1; 0, s1^2) N(u2; 0, s2^2),
# by nested stats::integrate (rel.tol 1e-10) around each trial's mode (log-scaled), at
# ipdma's AGHQ estimates and at points moved along each variance and the treatment effect.
d <- read("bin_aghq")
d <- d[!is.na(d$rec), ]
exact_loglik <- function(fixef, s1, s2) {
  total <- 0
  for (tr in unique(d$trial)) {
    s <- d[d$trial == tr, ]
    eta0 <- fixef[[paste0("C(trial)[", tr, "]")]] + fixef[["base"]] * s$base +
      fixef[["treat"]] * s$treat
    logf <- function(u1, u2) {
      eta <- eta0 + u1 * s$treat + u2 * s$base
      sum(s$rec * eta - log1p(exp(eta))) + dnorm(u1, 0, s1, log = TRUE) +
        dnorm(u2, 0, s2, log = TRUE)
    }
    mode <- optim(c(0, 0), function(u) -logf(u[1], u[2]), method = "BFGS",
                  control = list(reltol = 1e-14))
    c0 <- -mode$value
    inner <- function(u1) sapply(u1, function(a) integrate(
      function(u2) sapply(u2, function(b) exp(logf(a, b) - c0)),
      mode$par[2] - 10 * s2, mode$par[2] + 10 * s2, rel.tol = 1e-10,
      subdivisions = 500)$value)
    value <- integrate(inner, mode$par[1] - 10 * s1, mode$par[1] + 10 * s1, rel.tol = 1e-10,
                       subdivisions = 500)$value
    total <- total + c0 + log(value)
  }
  total
}
bin <- list()
for (name in c("bin_aghq_Laplace", "bin_aghq_AGHQ(9)")) {
  p <- points[[name]]
  if (is.null(p)) next
  at <- exact_loglik(p$fixef, p$sd_treat, p$sd_base)
  moves <- list()
  if (name != "bin_aghq_Laplace") {
    for (step in c(-0.05, 0.05)) {
      f2 <- p$fixef; f2$treat <- f2$treat + step
      moves[[length(moves) + 1]] <- list(what = "treat", step = step,
        loglik = exact_loglik(f2, p$sd_treat, p$sd_base))
      moves[[length(moves) + 1]] <- list(what = "sd_treat", step = step,
        loglik = exact_loglik(p$fixef, p$sd_treat * (1 + step), p$sd_base))
      moves[[length(moves) + 1]] <- list(what = "sd_base", step = step,
        loglik = exact_loglik(p$fixef, p$sd_treat, p$sd_base * (1 + step)))
    }
  }
  bin[[name]] <- list(method = p$method, ipdma_loglik = p$loglik, exact_loglik = at,
                      moves = moves)
}
out$bin_aghq_exact <- bin
g <- glmer(rec ~ 0 + factor(trial) + base + treat + (0 + treat | trial) + (0 + base | trial),
           data = d, family = binomial, nAGQ = 1,
           control = glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10)))
tm <- glmmTMB(rec ~ 0 + factor(trial) + base + treat + (0 + treat | trial) + (0 + base | trial),
              data = d, family = binomial)
out$bin_aghq_laplace <- list(
  glmer = list(fixef = as.list(fixef(g)), se = as.list(sqrt(diag(as.matrix(vcov(g))))),
               loglik = as.numeric(logLik(g)), theta = unname(getME(g, "theta")),
               messages = as.list(g@optinfo$conv$lme4$messages)),
  glmmtmb = list(fixef = as.list(fixef(tm)$cond), se = as.list(sqrt(diag(vcov(tm)$cond))),
                 loglik = as.numeric(logLik(tm))))
out$versions <- list(lme4 = as.character(packageVersion("lme4")),
                     glmmTMB = as.character(packageVersion("glmmTMB")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "xcheck_verify.json"), useBytes = TRUE)
