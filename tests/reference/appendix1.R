# Written by appendix1_make.py: Appendix 1's generated R code, run on the
# fixtures; stores lme4's estimates in appendix1.json.
library(jsonlite)
out <- list()
# --- overall_pain
library(lme4); library(lmerTest)
d <- read.csv("appendix1_overall_pain.csv")
d$trial <- factor(d$trial)
fit <- lmer(y ~ 0 + factor(trial) + baseline + treat + (0 + treat | trial) + (0 + baseline | trial),
            data = d, REML = TRUE)
summary(fit, ddf = "Satterthwaite")
loglik_default <- as.numeric(logLik(fit))
fit <- update(fit, control = lmerControl(optimizer = "bobyqa",
  optCtrl = list(rhoend = 1e-12, maxfun = 1e5)))
out[["overall_pain"]] <- list(
  fixef = as.list(fixef(fit)), se = as.list(sqrt(diag(as.matrix(vcov(fit))))),
  loglik = as.numeric(logLik(fit)), loglik_default = loglik_default,
  df = as.list(summary(fit, ddf = "Satterthwaite")$coefficients[, "df"]))

# --- interaction_function
library(lme4); library(lmerTest)
d <- read.csv("appendix1_interaction_function.csv")
d$trial <- factor(d$trial)
fit <- lmer(y ~ 0 + factor(trial) + baseline + age + treat_x_age + female + treat_x_female + treat + modifier + treat_x_modifier + treat_x_modifier_mean + (0 + treat | trial) + (0 + baseline | trial),
            data = d, REML = TRUE)
summary(fit, ddf = "Satterthwaite")
loglik_default <- as.numeric(logLik(fit))
fit <- update(fit, control = lmerControl(optimizer = "bobyqa",
  optCtrl = list(rhoend = 1e-12, maxfun = 1e5)))
out[["interaction_function"]] <- list(
  fixef = as.list(fixef(fit)), se = as.list(sqrt(diag(as.matrix(vcov(fit))))),
  loglik = as.numeric(logLik(fit)), loglik_default = loglik_default,
  df = as.list(summary(fit, ddf = "Satterthwaite")$coefficients[, "df"]))

# --- overall_recovery
library(lme4)
d <- read.csv("appendix1_overall_recovery.csv")
d$trial <- factor(d$trial)
fit <- glmer(y ~ 0 + factor(trial) + baseline + treat + (0 + treat | trial),
             data = d, family = binomial, nAGQ = 7)
summary(fit)
loglik_default <- as.numeric(logLik(fit))
fit <- update(fit, control = glmerControl(optimizer = "bobyqa",
  optCtrl = list(rhoend = 1e-12, maxfun = 1e5), tolPwrss = 1e-12))
out[["overall_recovery"]] <- list(
  fixef = as.list(fixef(fit)), se = as.list(sqrt(diag(as.matrix(vcov(fit))))),
  loglik = as.numeric(logLik(fit)), loglik_default = loglik_default)

write_json(out, "appendix1.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
