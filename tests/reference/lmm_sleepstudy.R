# Reference fits of lme4's sleepstudy for ipdma's linear mixed-model engine.
# Writes lmm_sleepstudy.csv (the data) and lmm_sleepstudy.json (lme4 + lmerTest results).
# Run from this directory: Rscript lmm_sleepstudy.R
suppressMessages({library(lme4); library(lmerTest); library(jsonlite)})
write.csv(sleepstudy, "lmm_sleepstudy.csv", row.names = FALSE)
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5))
fit_one <- function(formula, reml) {
  m <- lmerTest::lmer(formula, data = sleepstudy, REML = reml, control = ctrl)
  cf <- summary(m)$coefficients
  vc <- as.data.frame(VarCorr(m))
  list(formula = deparse(formula), reml = reml,
       fixef = as.list(fixef(m)), se = as.list(cf[, "Std. Error"]), df = as.list(cf[, "df"]),
       theta = unname(getME(m, "theta")), sigma = sigma(m),
       varcomp = list(group = vc$grp, term1 = vc$var1, term2 = ifelse(is.na(vc$var2), "", vc$var2),
                      vcov = vc$vcov, sdcor = vc$sdcor),
       loglik = as.numeric(logLik(m)), deviance_or_reml = if (reml) REMLcrit(m) else deviance(m),
       aic = AIC(m), bic = BIC(m), singular = isSingular(m),
       ranef = lapply(ranef(m)$Subject, function(v) v))
}
fits <- list(
  correlated_reml = fit_one(Reaction ~ Days + (Days | Subject), TRUE),
  correlated_ml = fit_one(Reaction ~ Days + (Days | Subject), FALSE),
  independent_reml = fit_one(Reaction ~ Days + (Days || Subject), TRUE),
  independent_ml = fit_one(Reaction ~ Days + (Days || Subject), FALSE)
)
fits$versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                      lmerTest = as.character(packageVersion("lmerTest")))
write_json(fits, "lmm_sleepstudy.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
