# Reference for the one-stage IPD + aggregate-data linear mixed model (Riley et al. 2008,
# Stat Med 27:1870), fitted here by an independent, dense implementation of its likelihood:
#   IPD trial i:  y_ij = a_i + b_i base_ij + t_i treat_ij + e_ij,  (b_i, t_i) ~ N((b, t), G),
#                 e_ij ~ N(0, s2) (common) or N(0, s2_i) (stratified)
#   AD trial k:   d_k ~ N(t, se_k^2 + G[treat, treat])
# The marginal covariance V is built block by block as dense matrices (s2 I + Z G Z' per IPD
# trial; se_k^2 + tau2 per AD row) and the ML / REML criterion
#   -2 l = N log 2pi + log|V| + r'V^-1 r        (REML: + log|X'V^-1X|, N - p for N)
# is minimised by nlminb (SDs >= 0, rel.tol 1e-15) from several starts; the best is kept.
# The same code is run with the AD trials removed (checked against lme4::lmer) and with the
# IPD removed (checked against metafor::rma), so the dense criterion is itself verified.
# Data: lmm_ipd_small.csv (6 IPD trials) plus three published estimates; and trials t01-t10
# of lmm_ipd_large.csv as IPD with trials t11-t16 entering as aggregate data (their own lm
# ANCOVA estimates). Writes aggregate_onestage.json. Run from this directory:
#   Rscript aggregate_onestage.R
suppressMessages({library(lme4); library(metafor); library(jsonlite)})

criterion <- function(par, ipd, ad, reml, stratified, correlated) {
  trials <- unique(ipd$trial)
  k <- length(trials)
  ns <- if (k == 0) 0 else if (stratified) k else 1
  s2 <- par[seq_len(ns)]^2
  gpar <- if (ns) par[-seq_len(ns)] else par
  if (k == 0) {
    L <- matrix(gpar[1], 1, 1)
  } else if (correlated) {
    L <- matrix(0, 2, 2); L[lower.tri(L, diag = TRUE)] <- gpar
  } else {
    L <- diag(gpar, 2)
  }
  G <- L %*% t(L)  # order: (base, treat)
  tau2 <- G[nrow(G), nrow(G)]
  shared <- if (k == 0) "treat" else c("base", "treat")
  p <- k + length(shared)
  XtVX <- matrix(0, p, p); XtVy <- numeric(p); ytVy <- 0; logdet <- 0
  for (i in seq_len(k)) {
    rows <- ipd[ipd$trial == trials[i], ]
    n <- nrow(rows)
    X <- matrix(0, n, p); X[, i] <- 1; X[, k + 1] <- rows$base; X[, k + 2] <- rows$treat
    Z <- cbind(rows$base, rows$treat)
    V <- diag(if (stratified) s2[i] else s2, n) + Z %*% G %*% t(Z)
    R <- tryCatch(chol(V), error = function(e) NULL)
    if (is.null(R)) return(Inf)
    Vi <- chol2inv(R)
    logdet <- logdet + 2 * sum(log(diag(R)))
    XtVX <- XtVX + t(X) %*% Vi %*% X
    XtVy <- XtVy + drop(t(X) %*% Vi %*% rows$y)
    ytVy <- ytVy + drop(t(rows$y) %*% Vi %*% rows$y)
  }
  if (nrow(ad)) {
    v <- ad$se^2 + tau2
    XtVX[p, p] <- XtVX[p, p] + sum(1 / v)
    XtVy[p] <- XtVy[p] + sum(ad$estimate / v)
    ytVy <- ytVy + sum(ad$estimate^2 / v)
    logdet <- logdet + sum(log(v))
  }
  C <- tryCatch(chol(XtVX), error = function(e) NULL)
  if (is.null(C)) return(Inf)
  beta <- backsolve(C, forwardsolve(t(C), XtVy))
  rss <- ytVy - sum(beta * XtVy)
  N <- nrow(ipd) + nrow(ad)
  dev <- if (reml) (N - p) * log(2 * pi) + logdet + 2 * sum(log(diag(C))) + rss
         else N * log(2 * pi) + logdet + rss
  attr(dev, "beta") <- beta
  attr(dev, "vcov") <- chol2inv(C)
  attr(dev, "G") <- G
  attr(dev, "s2") <- s2
  attr(dev, "shared") <- shared
  dev
}

fit <- function(ipd, ad, reml, stratified = FALSE, correlated = FALSE) {
  k <- length(unique(ipd$trial))
  ns <- if (k == 0) 0 else if (stratified) k else 1
  ng <- if (k == 0) 1 else if (correlated) 3 else 2
  lower <- c(rep(1e-8, ns), if (k == 0) 0 else if (correlated) c(0, -Inf, 0) else c(0, 0))
  f <- function(par) {
    value <- as.numeric(criterion(par, ipd, ad, reml, stratified, correlated))
    if (is.finite(value)) value else 1e300
  }
  best <- NULL
  starts <- list()
  for (scale in c(0.1, 1, 5)) {
    s0 <- if (ns) rep(sd(ipd$y), ns) * 0.8 else numeric(0)
    g0 <- if (k == 0) sd(ad$estimate) * scale / 5 + 0.1
          else if (correlated) c(0.05 * scale, 0.01, 2 * scale) else c(0.05 * scale, 2 * scale)
    starts[[length(starts) + 1]] <- c(s0, g0)
  }
  for (start in starts) {
    res <- nlminb(start, f, lower = lower,
                  control = list(rel.tol = 1e-15, x.tol = 1e-12, eval.max = 1e5, iter.max = 1e5))
    if (is.null(best) || res$objective < best$objective) best <- res
  }
  dev <- criterion(best$par, ipd, ad, reml, stratified, correlated)
  beta <- attr(dev, "beta"); vc <- attr(dev, "vcov"); p <- length(beta)
  shared <- attr(dev, "shared"); idx <- (p - length(shared) + 1):p
  G <- attr(dev, "G")
  list(reml = reml, stratified = stratified, correlated = correlated,
       loglik = -as.numeric(dev) / 2,
       fixef = as.list(setNames(beta[idx], shared)),
       se = as.list(setNames(sqrt(diag(vc))[idx], shared)),
       tau2 = G[nrow(G), nrow(G)], G = G, sigma2 = attr(dev, "s2"),
       nlminb_message = best$message)
}

tight <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5))
small <- read.csv("lmm_ipd_small.csv")
small_ad <- data.frame(trial = c("ad-smith", "ad-jones", "ad-lee"),
                       estimate = c(-12.5, -2.1, -7.4), se = c(4.2, 3.1, 6.8))
large <- read.csv("lmm_ipd_large.csv")
large_ipd <- large[large$trial %in% sprintf("t%02d", 1:10), ]
large_ad <- do.call(rbind, lapply(sprintf("t%02d", 11:16), function(tr) {
  cf <- summary(lm(y ~ base + treat, data = large[large$trial == tr, ]))$coefficients
  data.frame(trial = paste0("ad-", tr), estimate = cf["treat", 1], se = cf["treat", 2])
}))
no_ad <- small_ad[0, ]

cases <- list()
for (reml in c(TRUE, FALSE)) {
  for (stratified in c(FALSE, TRUE)) {
    name <- sprintf("small_%s_%s", if (reml) "reml" else "ml",
                    if (stratified) "stratified" else "common")
    message(name)
    cases[[name]] <- c(list(data = "small", aggregate = "small"),
                       fit(small, small_ad, reml, stratified))
  }
}
cases$large_reml_common <- c(list(data = "large", aggregate = "large"),
                             fit(large_ipd, large_ad, TRUE))
cases$large_ml_correlated <- c(list(data = "large", aggregate = "large"),
                               fit(large_ipd, large_ad, FALSE, correlated = TRUE))
cases$large_reml_stratified <- c(list(data = "large", aggregate = "large"),
                                 fit(large_ipd, large_ad, TRUE, stratified = TRUE))

# the dense criterion itself, checked: IPD only vs lmer, AD only vs rma
check <- list()
for (reml in c(TRUE, FALSE)) {
  ours <- fit(small, no_ad, reml)
  m <- lmer(y ~ 0 + factor(trial) + base + treat + (0 + treat | trial) + (0 + base | trial),
            data = small, REML = reml, control = tight)
  ref <- rma(small_ad$estimate, sei = small_ad$se, method = if (reml) "REML" else "ML",
             control = list(threshold = 1e-12, maxiter = 10000))
  ad_only <- fit(small[0, ], small_ad, reml)
  check[[if (reml) "reml" else "ml"]] <- list(
    ipd_only_treat_vs_lmer = ours$fixef$treat - fixef(m)[["treat"]],
    ipd_only_loglik_vs_lmer = ours$loglik - as.numeric(logLik(m)),
    ad_only_estimate_vs_rma = ad_only$fixef$treat - as.numeric(ref$beta),
    ad_only_tau2_vs_rma = ad_only$tau2 - ref$tau2)
}
print(check)
write_json(list(cases = cases, check = check, small_aggregate = small_ad,
                large_aggregate = large_ad, large_ipd_trials = sprintf("t%02d", 1:10)),
           "aggregate_onestage.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
