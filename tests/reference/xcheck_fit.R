# Independent cross-checks (VERIFY helper): R reference fits on the fresh datasets written by
# xcheck_make.py (xcheck_<name>.csv). Writes xcheck_<name>.json next to this script.
#   Rscript tests/reference/xcheck_fit.R
# Controls (recorded in each JSON under "control"):
#   lmer : lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-12))
#          via lmerTest::lmer (Satterthwaite df from summary()).
#   nlme : lme(..., weights = varIdent(form = ~ 1 | trial)), lmeControl(tolerance = 1e-10,
#          msTol = 1e-12, opt = "optim", maxIter/msMaxIter 500)
#   glmer: glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10))
#   glmmTMB: defaults (nlminb), Laplace.
# lme4's own convergence messages are kept under "messages".
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(nlme); library(glmmTMB); library(jsonlite)
})
options(na.action = "na.omit")
here <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else "tests/reference"
})
lctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-12))
gctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10))
nctrl <- lmeControl(maxIter = 500, msMaxIter = 500, niterEM = 100, tolerance = 1e-10,
                    msTol = 1e-12, msMaxEval = 2000, opt = "optim", returnObject = TRUE)

read <- function(name) {
  read.csv(file.path(here, sprintf("xcheck_%s.csv", name)), fileEncoding = "UTF-8",
           stringsAsFactors = FALSE, na.strings = "NA")
}

varcorr <- function(vc) {
  lapply(vc, function(m) list(names = colnames(m), matrix = unname(unclass(m)[, , drop = FALSE])))
}

lmer_fit <- function(formula, data, reml) {
  m <- lmerTest::lmer(formula, data = data, REML = reml, control = lctrl)
  cf <- summary(m)$coefficients
  list(engine = "lmerTest::lmer", formula = paste(deparse(formula, width.cutoff = 500), collapse = ""),
       reml = reml, nobs = nobs(m),
       fixef = as.list(fixef(m)), se = as.list(cf[, "Std. Error"]), df = as.list(cf[, "df"]),
       theta = unname(getME(m, "theta")), sigma = sigma(m), varcorr = varcorr(VarCorr(m)),
       loglik = as.numeric(logLik(m)), criterion = if (reml) REMLcrit(m) else deviance(m),
       aic = AIC(m), bic = BIC(m), singular = isSingular(m),
       messages = as.list(m@optinfo$conv$lme4$messages))
}

nlme_fit <- function(fixed, random, data, reml) {
  m <- lme(fixed, random = random, weights = varIdent(form = ~ 1 | trial), data = data,
           method = if (reml) "REML" else "ML", control = nctrl, na.action = na.omit)
  ratio <- coef(m$modelStruct$varStruct, unconstrained = FALSE, allCoef = TRUE)
  vc <- VarCorr(m)
  re <- vc[rownames(vc) != "Residual", "Variance"]
  list(engine = "nlme::lme varIdent", reml = reml, nobs = nobs(m),
       fixef = as.list(fixef(m)), se = as.list(sqrt(diag(vcov(m)))),
       re_variance = as.list(setNames(as.numeric(re), names(re))),
       sigma_by_trial = as.list(m$sigma * ratio), loglik = as.numeric(logLik(m)))
}

glmer_fit <- function(formula, data, nagq) {
  m <- glmer(formula, data = data, family = binomial, nAGQ = nagq, control = gctrl)
  list(engine = "lme4::glmer", nagq = nagq, nobs = nobs(m),
       fixef = as.list(fixef(m)), se = as.list(sqrt(diag(as.matrix(vcov(m))))),
       theta = unname(getME(m, "theta")), varcorr = varcorr(VarCorr(m)),
       loglik = as.numeric(logLik(m)), singular = isSingular(m),
       messages = as.list(m@optinfo$conv$lme4$messages))
}

tmb_fit <- function(formula, data) {
  m <- glmmTMB(formula, data = data, family = binomial)
  list(engine = "glmmTMB", nobs = nobs(m), fixef = as.list(fixef(m)$cond),
       se = as.list(sqrt(diag(vcov(m)$cond))), varcorr = varcorr(VarCorr(m)$cond),
       loglik = as.numeric(logLik(m)), pdHess = m$sdr$pdHess,
       messages = as.list(m$fit$message))
}

save <- function(name, fits) {
  out <- list(dataset = name, fits = fits,
              control = list(lmer = "bobyqa maxfun=1e5 rhoend=1e-12",
                             glmer = "bobyqa maxfun=1e5 rhoend=1e-10",
                             nlme = "optim tolerance=1e-10 msTol=1e-12", glmmTMB = "defaults"),
              versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                              lmerTest = as.character(packageVersion("lmerTest")),
                              nlme = as.character(packageVersion("nlme")),
                              glmmTMB = as.character(packageVersion("glmmTMB"))))
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
             file.path(here, sprintf("xcheck_%s.json", name)), useBytes = TRUE)
  message(name, " done")
}

paper <- y ~ 0 + factor(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)
inter <- y ~ 0 + factor(trial) + base + treat + agec + treat:agec + (0 + treat | trial) +
  (0 + base | trial)

d <- read("corr")
save("corr", list(
  corr_reml = lmer_fit(y ~ x + f + treat + (1 + x | trial), d, TRUE),
  corr_ml = lmer_fit(y ~ x + f + treat + (1 + x | trial), d, FALSE),
  indep_reml = lmer_fit(y ~ x + f + treat + (1 + x || trial), d, TRUE)))

d <- read("three")
save("three", list(
  three_reml = lmer_fit(y ~ 0 + factor(trial) + a + b + c + (0 + a | trial) + (0 + b | trial) +
                          (0 + c | trial), d, TRUE),
  three_ml = lmer_fit(y ~ 0 + factor(trial) + a + b + c + (0 + a | trial) + (0 + b | trial) +
                        (0 + c | trial), d, FALSE),
  three_nlme_reml = nlme_fit(y ~ 0 + factor(trial) + a + b + c,
                             list(trial = pdDiag(~ 0 + a + b + c)), d, TRUE)))

d <- read("paper")
save("paper", list(
  paper_reml = lmer_fit(paper, d, TRUE), paper_ml = lmer_fit(paper, d, FALSE),
  inter_reml = lmer_fit(inter, d, TRUE),
  paper_nlme_reml = nlme_fit(y ~ 0 + factor(trial) + base + treat,
                             list(trial = pdDiag(~ 0 + treat + base)), d, TRUE),
  paper_nlme_ml = nlme_fit(y ~ 0 + factor(trial) + base + treat,
                           list(trial = pdDiag(~ 0 + treat + base)), d, FALSE)))

for (name in c("nearsing", "exactsing", "large", "tiny")) {
  d <- read(name)
  save(name, list(paper_reml = lmer_fit(paper, d, TRUE), paper_ml = lmer_fit(paper, d, FALSE)))
}

bpaper <- rec ~ 0 + factor(trial) + base + treat + (0 + treat | trial)
btwo <- rec ~ 0 + factor(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)
bint <- rec ~ x + f + treat + (1 | trial)
d <- read("bin_paper")
save("bin_paper", list(laplace = glmer_fit(bpaper, d, 1), agq25 = glmer_fit(bpaper, d, 25),
                       tmb = tmb_fit(bpaper, d)))
d <- read("bin_two")
save("bin_two", list(laplace = glmer_fit(btwo, d, 1), tmb = tmb_fit(btwo, d)))
d <- read("bin_int")
save("bin_int", list(laplace = glmer_fit(bint, d, 1), agq25 = glmer_fit(bint, d, 25),
                     tmb = tmb_fit(bint, d)))
