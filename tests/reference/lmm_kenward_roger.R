# Reference Kenward-Roger inference (pbkrtest via lmerTest) for ipdma's ddf="kenward-roger".
# Data: the committed lmm_sleepstudy.csv and lmm_ipd_{small,large}.csv. For each model: the
# REML fit (bobyqa, rhoend 1e-12), then per fixed effect the KR-adjusted SE
# (sqrt(diag(pbkrtest::vcovAdj))), the KR denominator df and p (lmerTest summary with
# ddf = "Kenward-Roger"), the unadjusted SE, the variance components (one covariance
# matrix per random-effect term, in formula order), the REML log-likelihood and the seconds
# pbkrtest took.
# Writes lmm_kenward_roger.json. Run from this directory: Rscript lmm_kenward_roger.R
suppressMessages({library(lme4); library(lmerTest); library(pbkrtest); library(jsonlite)})
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5))
sleep <- read.csv("lmm_sleepstudy.csv")
small <- read.csv("lmm_ipd_small.csv")
large <- read.csv("lmm_ipd_large.csv")
models <- list(
  sleep_corr = list(data = sleep, formula = Reaction ~ Days + (Days | Subject)),
  sleep_indep = list(data = sleep, formula = Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)),
  small_paper = list(data = small,
    formula = y ~ 0 + factor(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)),
  small_interaction = list(data = small,
    formula = y ~ 0 + factor(trial) + base + agec + treat + treat:agec + (0 + treat | trial) + (0 + base | trial)),
  small_corr = list(data = small,
    formula = y ~ 0 + factor(trial) + base + treat + (0 + treat + base | trial)),
  large_paper = list(data = large,
    formula = y ~ 0 + factor(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)),
  large_interaction = list(data = large,
    formula = y ~ 0 + factor(trial) + base + agec + treat + treat:agec + (0 + treat | trial) + (0 + base | trial))
)
out <- list()
for (name in names(models)) {
  m <- models[[name]]
  fit <- lmerTest::lmer(m$formula, data = m$data, REML = TRUE, control = ctrl)
  seconds <- system.time(adj <- as.matrix(pbkrtest::vcovAdj(fit)))[["elapsed"]]
  kr <- summary(fit, ddf = "Kenward-Roger")$coefficients
  sat <- summary(fit, ddf = "Satterthwaite")$coefficients
  terms <- rownames(kr)
  out[[name]] <- list(
    formula = paste(deparse(m$formula), collapse = " "),
    terms = terms,
    estimate = unname(kr[, "Estimate"]),
    se_kr = unname(sqrt(diag(adj))),
    se_summary = unname(kr[, "Std. Error"]),
    df_kr = unname(kr[, "df"]),
    t_kr = unname(kr[, "t value"]),
    p_kr = unname(kr[, "Pr(>|t|)"]),
    se = unname(sat[, "Std. Error"]),
    df_satterthwaite = unname(sat[, "df"]),
    vcov_adjusted = unname(adj),
    random_names = unlist(lapply(VarCorr(fit), function(v) paste0(rownames(v), "|", attr(v, "stddev") * 0 + seq_along(rownames(v))))),
    covariance_blocks = lapply(VarCorr(fit), function(v) unname(as.matrix(v)[seq_len(nrow(v)), seq_len(ncol(v)), drop = FALSE])),
    sigma2 = sigma(fit)^2,
    reml_loglik = as.numeric(logLik(fit)),
    seconds_pbkrtest = seconds
  )
}
out$versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                     lmerTest = as.character(packageVersion("lmerTest")),
                     pbkrtest = as.character(packageVersion("pbkrtest")))
write_json(out, "lmm_kenward_roger.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
