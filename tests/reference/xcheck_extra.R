# Independent cross-checks (VERIFY helper), part 3, on the xcheck_*.csv data:
#   - BLUPs / conditional modes (ranef) from lmer and glmer;
#   - lmerTest p-values and Satterthwaite CIs (for tidy() / confint(method = "satterthwaite"));
#   - factor-by-treatment interaction (f * treat) with correlated slopes; a 3x3 unstructured
#     random-effect covariance (1 + x + treat | trial); glmer with (1 + treat | trial);
#   - nlme varIdent with a correlated (pdSymm) random intercept and slope.
# Writes xcheck_extra.json.   Rscript tests/reference/xcheck_extra.R
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(nlme); library(jsonlite)})
options(na.action = "na.omit")
here <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else "tests/reference"
})
read <- function(name) read.csv(file.path(here, sprintf("xcheck_%s.csv", name)),
                                 fileEncoding = "UTF-8", stringsAsFactors = FALSE)
lctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-12))
gctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10))
nctrl <- lmeControl(maxIter = 500, msMaxIter = 500, niterEM = 100, tolerance = 1e-10,
                    msTol = 1e-12, msMaxEval = 2000, opt = "optim", returnObject = TRUE)
blups <- function(m) {
  re <- ranef(m)$trial
  list(trial = rownames(re), values = lapply(as.list(re), as.numeric))
}
lmer_more <- function(formula, data) {
  m <- lmerTest::lmer(formula, data = data, REML = TRUE, control = lctrl)
  cf <- summary(m)$coefficients
  ci <- cbind(cf[, "Estimate"] - qt(0.975, cf[, "df"]) * cf[, "Std. Error"],
              cf[, "Estimate"] + qt(0.975, cf[, "df"]) * cf[, "Std. Error"])
  list(formula = paste(deparse(formula, width.cutoff = 500), collapse = ""),
       fixef = as.list(fixef(m)), se = as.list(cf[, "Std. Error"]), df = as.list(cf[, "df"]),
       p = as.list(cf[, "Pr(>|t|)"]), ci_low = as.list(ci[, 1]), ci_high = as.list(ci[, 2]),
       loglik = as.numeric(logLik(m)), ranef = blups(m),
       messages = as.list(m@optinfo$conv$lme4$messages))
}
out <- list()
d <- read("corr")
out$corr_reml <- lmer_more(y ~ x + f + treat + (1 + x | trial), d)
out$corr_factor_by_treat <- lmer_more(y ~ x + f * treat + (1 + x | trial), d)
out$corr3_reml <- lmer_more(y ~ x + f + treat + (1 + x + treat | trial), d)
m <- lme(y ~ x + f + treat, random = list(trial = pdSymm(~ 1 + x)),
         weights = varIdent(form = ~ 1 | trial), data = d, method = "REML", control = nctrl,
         na.action = na.omit)
vc <- getVarCov(m)
out$corr_nlme_reml <- list(fixef = as.list(fixef(m)), se = as.list(sqrt(diag(vcov(m)))),
  re_cov = unname(unclass(vc)[, ]), re_names = colnames(vc),
  sigma_by_trial = as.list(m$sigma * coef(m$modelStruct$varStruct, unconstrained = FALSE,
                                          allCoef = TRUE)),
  loglik = as.numeric(logLik(m)))
d <- read("paper")
out$paper_reml <- lmer_more(y ~ 0 + factor(trial) + base + treat + (0 + treat | trial) +
                              (0 + base | trial), d)
d <- read("bin_paper")
g <- glmer(rec ~ 0 + factor(trial) + base + treat + (0 + treat | trial), data = d,
           family = binomial, nAGQ = 1, control = gctrl)
out$bin_paper_laplace <- list(ranef = blups(g), loglik = as.numeric(logLik(g)))
d <- read("bin_int")
g <- glmer(rec ~ x + f + treat + (1 + treat | trial), data = d, family = binomial, nAGQ = 1,
           control = gctrl)
out$bin_int_corr_laplace <- list(fixef = as.list(fixef(g)),
  se = as.list(sqrt(diag(as.matrix(vcov(g))))), loglik = as.numeric(logLik(g)),
  varcorr = lapply(VarCorr(g), function(m) list(names = colnames(m),
                                                 matrix = unname(unclass(m)[, , drop = FALSE]))),
  messages = as.list(g@optinfo$conv$lme4$messages))
out$versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                     lmerTest = as.character(packageVersion("lmerTest")),
                     nlme = as.character(packageVersion("nlme")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "xcheck_extra.json"), useBytes = TRUE)
