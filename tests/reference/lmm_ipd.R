# Reference fits of the paper's one-stage IPD-MA linear mixed models (Hayden et al. 2020),
# on three simulated datasets written next to this script:
#   lmm_ipd_large.csv     27 trials, ~3,500 participants (the paper's size)
#   lmm_ipd_small.csv     6 small trials
#   lmm_ipd_singular.csv  no treatment-effect heterogeneity: lme4's fit is singular
# Models (lme4/lmerTest, REML and ML):
#   paper:       y ~ 0 + factor(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)
#   interaction: paper + agec + treat:agec  (agec = age centred at its trial mean)
#   stratified residual variances: nlme::lme(..., weights = varIdent(form = ~ 1 | trial))
#   and glmmTMB(..., dispformula = ~ trial)
# Writes lmm_ipd_<name>.json. Run from this directory: Rscript lmm_ipd.R
suppressMessages({library(lme4); library(lmerTest); library(nlme); library(glmmTMB); library(jsonlite)})

simulate <- function(seed, sizes, tau_treat, tau_base, sd_range) {
  set.seed(seed)
  K <- length(sizes)
  trial <- rep(sprintf("t%02d", seq_len(K)), sizes)
  i <- rep(seq_len(K), sizes)
  a <- rnorm(K, 20, 6); b <- 0.5 + rnorm(K, 0, tau_base); t <- -6 + rnorm(K, 0, tau_treat)
  s <- runif(K, sd_range[1], sd_range[2])
  base <- rnorm(sum(sizes), 60 + rnorm(K, 0, 5)[i], 15)
  treat <- unlist(lapply(sizes, function(n) sample(rep(0:1, length.out = n))))
  age <- rnorm(sum(sizes), 45 + rnorm(K, 0, 4)[i], 10)
  agec <- age - ave(age, trial)
  y <- a[i] + b[i] * base + t[i] * treat + 0.15 * treat * agec + 0.1 * agec + rnorm(sum(sizes), 0, s[i])
  data.frame(trial = trial, y = round(y, 6), base = round(base, 6), treat = treat,
             age = round(age, 6), agec = round(agec, 6))
}

ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5))
paper <- y ~ 0 + factor(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)
inter <- y ~ 0 + factor(trial) + base + treat + agec + treat:agec + (0 + treat | trial) + (0 + base | trial)

lmer_fit <- function(formula, data, reml) {
  m <- lmerTest::lmer(formula, data = data, REML = reml, control = ctrl)
  cf <- summary(m)$coefficients
  vc <- as.data.frame(VarCorr(m))
  list(formula = deparse(formula, width.cutoff = 500), reml = reml,
       fixef = as.list(fixef(m)), se = as.list(cf[, "Std. Error"]), df = as.list(cf[, "df"]),
       theta = unname(getME(m, "theta")), sigma = sigma(m),
       varcomp = list(term = ifelse(is.na(vc$var1), "Residual", vc$var1), vcov = vc$vcov),
       loglik = as.numeric(logLik(m)), deviance_or_reml = if (reml) REMLcrit(m) else deviance(m),
       aic = AIC(m), bic = BIC(m), singular = isSingular(m),
       ranef = lapply(ranef(m)$trial, function(v) v))
}

nlme_fit <- function(data, reml) {
  m <- lme(y ~ 0 + factor(trial) + base + treat, random = list(trial = pdDiag(~ 0 + treat + base)),
           weights = varIdent(form = ~ 1 | trial), data = data, method = if (reml) "REML" else "ML",
           control = lmeControl(maxIter = 500, msMaxIter = 500, niterEM = 100, tolerance = 1e-10,
                                msTol = 1e-12, msMaxEval = 2000, opt = "optim", returnObject = TRUE))
  ratio <- coef(m$modelStruct$varStruct, unconstrained = FALSE, allCoef = TRUE)
  sds <- m$sigma * ratio
  re <- as.numeric(VarCorr(m)[c("treat", "base"), "Variance"])
  list(reml = reml, fixef = as.list(fixef(m)), se = as.list(sqrt(diag(vcov(m)))),
       var_treat = re[1], var_base = re[2], sigma_by_trial = as.list(sds),
       loglik = as.numeric(logLik(m)))
}

tmb_fit <- function(data, reml) {
  m <- glmmTMB(y ~ 0 + factor(trial) + base + treat + (0 + treat | trial) + (0 + base | trial),
               dispformula = ~ 0 + trial, data = data, REML = reml)
  vc <- VarCorr(m)$cond$trial
  list(reml = reml, fixef = as.list(fixef(m)$cond), se = as.list(sqrt(diag(vcov(m)$cond))),
       var_treat = as.numeric(VarCorr(m)$cond[[1]]), var_base = as.numeric(VarCorr(m)$cond[[2]]),
       # the gaussian dispersion model is for log(sigma^2)
       sigma_by_trial = as.list(setNames(sqrt(exp(fixef(m)$disp)), sub("trial", "", names(fixef(m)$disp)))),
       loglik = as.numeric(logLik(m)))
}

run <- function(name, data, interaction, stratified) {
  write.csv(data, sprintf("lmm_ipd_%s.csv", name), row.names = FALSE)
  out <- list(n = nrow(data), trials = length(unique(data$trial)),
              paper_reml = lmer_fit(paper, data, TRUE), paper_ml = lmer_fit(paper, data, FALSE))
  if (interaction) out$interaction_reml <- lmer_fit(inter, data, TRUE)
  if (stratified) {
    out$stratified_nlme_reml <- nlme_fit(data, TRUE)
    out$stratified_nlme_ml <- nlme_fit(data, FALSE)
    tmb <- tryCatch(tmb_fit(data, TRUE), error = function(e) NULL)
    if (!is.null(tmb)) out$stratified_glmmtmb_reml <- tmb
  }
  out$versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                       lmerTest = as.character(packageVersion("lmerTest")),
                       nlme = as.character(packageVersion("nlme")),
                       glmmTMB = as.character(packageVersion("glmmTMB")))
  write_json(out, sprintf("lmm_ipd_%s.json", name), auto_unbox = TRUE, digits = NA, pretty = TRUE)
  cat(name, nrow(data), "singular:", out$paper_reml$singular, "\n")
}

set.seed(1)
sizes <- round(runif(27, 40, 220)); sizes <- round(sizes * 3500 / sum(sizes))
run("large", simulate(2020, sizes, tau_treat = 3, tau_base = 0.1, sd_range = c(12, 25)), TRUE, TRUE)
# few small trials: the first seed whose REML fit is not singular (both variances estimable)
for (seed in 7:200) {
  d <- simulate(seed, c(15, 22, 30, 18, 40, 26), tau_treat = 4, tau_base = 0.3, sd_range = c(10, 20))
  if (!isSingular(lmer(paper, data = d, control = ctrl))) break
}
run("small", d, TRUE, TRUE)
# no heterogeneity in the treatment effect: pick the first seed whose REML fit is singular
for (seed in 100:200) {
  d <- simulate(seed, rep(c(60, 90, 120), 4), tau_treat = 0, tau_base = 0.05, sd_range = c(15, 15))
  m <- lmer(paper, data = d, control = ctrl)
  if (isSingular(m)) break
}
run("singular", d, FALSE, FALSE)
