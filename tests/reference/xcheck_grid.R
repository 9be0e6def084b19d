# Independent cross-check (VERIFY helper) of cells of the one-stage analysis grid.
# Data: xcheck_grid.csv = ipdma.simulate.harmonized_ipd(seed = 7) (one follow-up window),
# written by xcheck_make.py. Each model is built here from the paper's description
# (Hayden et al. 2020, Methods; Riley et al. 2020), not from ipdma's code:
#   - comparison set: exercise rows plus the chosen comparison arms ("usual" or any);
#   - complete cases in outcome, baseline of the outcome (function0 for recovery), modifier,
#     and for adjusted models age and female; trials without both arms are left out;
#   - stratified intercepts 0 + factor(trial); the baseline centred at its trial mean;
#   - treatment 0/1; random treatment effect (and, for pain/function, random baseline
#     effect), uncorrelated; REML for pain/function (lmerTest Satterthwaite df, t CI);
#     ML Laplace for recovery (glmer nAGQ = 1; Wald z CI; odds ratios; glmmTMB as well,
#     whose SEs come from an exact Hessian, glmer's from finite differences);
#   - modifier centred at its trial mean (within-trial interaction treat x centred modifier,
#     with the centred modifier as a main effect) and a separate across-trial term
#     treat x (trial mean of the modifier - mean of the trial means);
#   - adjusted: centred age and female and their products with treatment.
# Writes xcheck_grid.json.   Rscript tests/reference/xcheck_grid.R
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(nlme); library(glmmTMB); library(jsonlite)})
here <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else "tests/reference"
})
lctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-12))
gctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10))
all <- read.csv(file.path(here, "xcheck_grid.csv"), stringsAsFactors = FALSE, check.names = FALSE)
centre <- function(v, g) v - ave(v, g)

cell <- function(outcome, comparison, modifier = NULL, adjusted = FALSE) {
  baseline <- if (outcome == "recovery") "function0" else paste0(outcome, "0")
  d <- if (comparison == "any") all else all[all$treat == 1 | (!is.na(all$comparison) &
                                                               all$comparison == comparison), ]
  adjust <- if (adjusted) setdiff(c("age", "female"), modifier) else character(0)
  needed <- unique(c(outcome, baseline, adjust, modifier))
  d <- d[complete.cases(d[, c("trial", "treat", needed)]), ]
  arms <- tapply(d$treat, d$trial, function(t) length(unique(t)))
  d <- d[d$trial %in% names(arms)[arms == 2], ]
  d$y <- d[[outcome]]
  d$bc <- centre(d[[baseline]], d$trial)
  rhs <- c("0 + factor(trial)", "bc")
  for (a in adjust) {
    d[[paste0(a, "_c")]] <- centre(d[[a]], d$trial)
    d[[paste0("t_", a)]] <- d$treat * d[[paste0(a, "_c")]]
    rhs <- c(rhs, paste0(a, "_c"), paste0("t_", a))
  }
  rhs <- c(rhs, "treat")
  if (!is.null(modifier)) {
    z <- d[[modifier]]
    d$zc <- centre(z, d$trial)
    d$t_within <- d$treat * d$zc
    means <- tapply(z, d$trial, mean)
    d$t_across <- d$treat * (means[d$trial] - mean(means))
    rhs <- c(rhs, "zc", "t_within", "t_across")
  }
  is_bin <- outcome == "recovery"
  random <- if (is_bin) "(0 + treat | trial)" else "(0 + treat | trial) + (0 + bc | trial)"
  f <- as.formula(paste("y ~", paste(rhs, collapse = " + "), "+", random))
  if (is_bin) {
    m <- glmer(f, data = d, family = binomial, nAGQ = 1, control = gctrl)
    cf <- summary(m)$coefficients
    df <- setNames(rep(Inf, nrow(cf)), rownames(cf))
    tmb <- glmmTMB(f, data = d, family = binomial)  # exact (AD) Hessian for the SEs
    tmb_cf <- summary(tmb)$coefficients$cond
  } else {
    m <- lmerTest::lmer(f, data = d, REML = TRUE, control = lctrl)
    cf <- summary(m)$coefficients
    df <- cf[, "df"]
  }
  terms <- if (is.null(modifier)) "treat" else c("t_within", "t_across")
  rows <- lapply(terms, function(term) {
    est <- cf[term, "Estimate"]; se <- cf[term, "Std. Error"]
    q <- if (is_bin) qnorm(0.975) else qt(0.975, df[[term]])
    p <- if (is_bin) 2 * pnorm(-abs(est / se)) else 2 * pt(-abs(est / se), df[[term]])
    tr <- if (is_bin) exp else identity
    list(term = term, coef = est, se = se, df = if (is_bin) "Inf" else df[[term]],
         tmb_coef = if (is_bin) tmb_cf[term, "Estimate"] else NA,
         tmb_se = if (is_bin) tmb_cf[term, "Std. Error"] else NA,
         estimate = tr(est), ci_low = tr(est - q * se), ci_high = tr(est + q * se), p = p)
  })
  list(outcome = outcome, comparison = comparison, modifier = modifier, adjusted = adjusted,
       formula = paste(deparse(f, width.cutoff = 500), collapse = ""),
       nobs = nobs(m), studies = length(unique(d$trial)), loglik = as.numeric(logLik(m)),
       singular = isSingular(m), messages = as.list(m@optinfo$conv$lme4$messages),
       terms = setNames(rows, terms))
}

# Subgroup effects (Figures 3-5): adjusted models with one treatment column per category of
# the modifier (uncentred indicators; categories BMI < 18.5 / 18.5-25 / 25-30 / >= 30 as in
# the paper, medication No / Yes), 0/1 treatment, the same random part.
subgroup <- function(outcome, comparison, modifier) {
  baseline <- if (outcome == "recovery") "function0" else paste0(outcome, "0")
  d <- if (comparison == "any") all else all[all$treat == 1 | (!is.na(all$comparison) &
                                                               all$comparison == comparison), ]
  needed <- unique(c(outcome, baseline, "age", "female", modifier))
  d <- d[complete.cases(d[, c("trial", "treat", needed)]), ]
  arms <- tapply(d$treat, d$trial, function(t) length(unique(t)))
  d <- d[d$trial %in% names(arms)[arms == 2], ]
  d$y <- d[[outcome]]
  d$bc <- centre(d[[baseline]], d$trial)
  z <- d[[modifier]]
  d$cat <- if (modifier == "bmi") cut(z, c(-Inf, 18.5, 25, 30, Inf), right = FALSE,
                                      labels = c("< 18.5", "18.5-25", "25-30", ">= 30"))
           else factor(ifelse(z == 1, "Yes", "No"), levels = c("No", "Yes"))
  rhs <- c("0 + factor(trial)", "bc")
  for (a in c("age", "female")) {
    d[[paste0(a, "_c")]] <- centre(d[[a]], d$trial)
    d[[paste0("t_", a)]] <- d$treat * d[[paste0(a, "_c")]]
    rhs <- c(rhs, paste0(a, "_c"), paste0("t_", a))
  }
  levels <- levels(d$cat)
  for (k in seq_along(levels)) {
    ind <- as.numeric(d$cat == levels[k])
    if (k > 1) { d[[paste0("cat", k)]] <- ind; rhs <- c(rhs, paste0("cat", k)) }
    d[[paste0("tin", k)]] <- d$treat * ind
    rhs <- c(rhs, paste0("tin", k))
  }
  is_bin <- outcome == "recovery"
  random <- if (is_bin) "(0 + treat | trial)" else "(0 + treat | trial) + (0 + bc | trial)"
  f <- as.formula(paste("y ~", paste(rhs, collapse = " + "), "+", random))
  m <- if (is_bin) glmer(f, data = d, family = binomial, nAGQ = 1, control = gctrl) else
    lmerTest::lmer(f, data = d, REML = TRUE, control = lctrl)
  cf <- summary(m)$coefficients
  rows <- lapply(seq_along(levels), function(k) {
    term <- paste0("tin", k)
    est <- cf[term, "Estimate"]; se <- cf[term, "Std. Error"]
    df <- if (is_bin) Inf else cf[term, "df"]
    q <- qt(0.975, df); tr <- if (is_bin) exp else identity
    both <- tapply(d$treat[d$cat == levels[k]], d$trial[d$cat == levels[k]],
                   function(t) length(unique(t)) == 2)
    list(level = levels[k], coef = est, se = se, estimate = tr(est),
         ci_low = tr(est - q * se), ci_high = tr(est + q * se), p = 2 * pt(-abs(est / se), df),
         studies = sum(both, na.rm = TRUE),
         participants = sum(d$cat == levels[k] & d$trial %in% names(both)[which(both)]))
  })
  list(outcome = outcome, comparison = comparison, modifier = modifier,
       formula = paste(deparse(f, width.cutoff = 500), collapse = ""), nobs = nobs(m),
       loglik = as.numeric(logLik(m)), levels = rows)
}

# Non-default options: stratified residual variances (nlme varIdent, REML) and treatment
# centred at each trial's proportion treated (Riley et al. 2020), unadjusted interaction.
options_cell <- function(outcome, comparison, modifier) {
  d <- if (comparison == "any") all else all[all$treat == 1 | (!is.na(all$comparison) &
                                                               all$comparison == comparison), ]
  baseline <- paste0(outcome, "0")
  d <- d[complete.cases(d[, c("trial", "treat", outcome, baseline, modifier)]), ]
  arms <- tapply(d$treat, d$trial, function(t) length(unique(t)))
  d <- d[d$trial %in% names(arms)[arms == 2], ]
  d$y <- d[[outcome]]
  d$bc <- centre(d[[baseline]], d$trial)
  d$tc <- centre(d$treat, d$trial)
  z <- d[[modifier]]
  d$zc <- centre(z, d$trial)
  d$t_within <- d$tc * d$zc
  means <- tapply(z, d$trial, mean)
  d$t_across <- d$tc * (means[d$trial] - mean(means))
  # the across-trial term needs at least 3 trials (ipdma's min_trials_across default)
  fixed <- if (length(means) >= 3) y ~ 0 + factor(trial) + bc + tc + zc + t_within + t_across
           else y ~ 0 + factor(trial) + bc + tc + zc + t_within
  m <- lme(fixed,
           random = list(trial = pdDiag(~ 0 + tc + bc)), weights = varIdent(form = ~ 1 | trial),
           data = d, method = "REML",
           control = lmeControl(maxIter = 500, msMaxIter = 500, niterEM = 100, tolerance = 1e-10,
                                msTol = 1e-12, msMaxEval = 2000, opt = "optim"))
  se <- sqrt(diag(vcov(m)))
  list(outcome = outcome, comparison = comparison, modifier = modifier, nobs = nobs(m),
       loglik = as.numeric(logLik(m)),
       studies = length(means),
       terms = lapply(list(treat = "tc", t_within = "t_within", t_across = "t_across"),
                      function(t) list(coef = unname(fixef(m)[t]), se = unname(se[t]))))
}

# A 3-level string modifier (region; reference "north", the first in sorted order): one
# within-trial interaction per non-reference level (indicator centred at its trial mean, its
# main effect in the model) and one across-trial term per level.
categorical_cell <- function(outcome, comparison, modifier) {
  baseline <- paste0(outcome, "0")
  d <- if (comparison == "any") all else all[all$treat == 1 | (!is.na(all$comparison) &
                                                               all$comparison == comparison), ]
  d <- d[complete.cases(d[, c("trial", "treat", outcome, baseline, modifier)]), ]
  arms <- tapply(d$treat, d$trial, function(t) length(unique(t)))
  d <- d[d$trial %in% names(arms)[arms == 2], ]
  d$y <- d[[outcome]]
  d$bc <- centre(d[[baseline]], d$trial)
  levels <- sort(unique(d[[modifier]]))
  rhs <- c("0 + factor(trial)", "bc", "treat")
  studies <- list()
  for (k in seq_along(levels)[-1]) {
    ind <- as.numeric(d[[modifier]] == levels[k])
    d[[paste0("z", k)]] <- centre(ind, d$trial)
    d[[paste0("tw", k)]] <- d$treat * d[[paste0("z", k)]]
    means <- tapply(ind, d$trial, mean)
    d[[paste0("ta", k)]] <- d$treat * (means[d$trial] - mean(means))
    rhs <- c(rhs, paste0("z", k), paste0("tw", k), paste0("ta", k))
    studies[[levels[k]]] <- sum(tapply(ind, d$trial, function(v) length(unique(v)) > 1))
  }
  f <- as.formula(paste("y ~", paste(rhs, collapse = " + "),
                        "+ (0 + treat | trial) + (0 + bc | trial)"))
  m <- lmerTest::lmer(f, data = d, REML = TRUE, control = lctrl)
  cf <- summary(m)$coefficients
  row <- function(term) {
    est <- cf[term, "Estimate"]; se <- cf[term, "Std. Error"]; df <- cf[term, "df"]
    list(estimate = est, se = se, df = df, ci_low = est - qt(0.975, df) * se,
         ci_high = est + qt(0.975, df) * se, p = 2 * pt(-abs(est / se), df))
  }
  list(outcome = outcome, comparison = comparison, modifier = modifier, reference = levels[1],
       nobs = nobs(m), trials = length(unique(d$trial)),
       formula = paste(deparse(f, width.cutoff = 500), collapse = ""),
       levels = lapply(seq_along(levels)[-1], function(k) list(
         level = levels[k], studies = studies[[levels[k]]], within = row(paste0("tw", k)),
         across = row(paste0("ta", k)))))
}

# Other model options, one at a time, on pain / any / bmi (unadjusted): the interaction random
# across trials (its own uncorrelated random slope), or the modifier's main effect stratified
# by trial (one column per trial) instead of common.
variant_cell <- function(interaction_random, prognostic_stratified) {
  d <- all[complete.cases(all[, c("trial", "treat", "pain", "pain0", "bmi")]), ]
  arms <- tapply(d$treat, d$trial, function(t) length(unique(t)))
  d <- d[d$trial %in% names(arms)[arms == 2], ]
  d$y <- d$pain
  d$bc <- centre(d$pain0, d$trial)
  d$zc <- centre(d$bmi, d$trial)
  d$t_within <- d$treat * d$zc
  means <- tapply(d$bmi, d$trial, mean)
  d$t_across <- d$treat * (means[d$trial] - mean(means))
  rhs <- c("0 + factor(trial)", "bc", "treat")
  if (prognostic_stratified) {
    for (tr in sort(unique(d$trial))) {
      name <- paste0("z_", make.names(tr))
      d[[name]] <- ifelse(d$trial == tr, d$zc, 0)
      rhs <- c(rhs, name)
    }
  } else rhs <- c(rhs, "zc")
  rhs <- c(rhs, "t_within", "t_across")
  random <- "(0 + treat | trial) + (0 + bc | trial)"
  if (interaction_random) random <- paste(random, "+ (0 + t_within | trial)")
  f <- as.formula(paste("y ~", paste(rhs, collapse = " + "), "+", random))
  m <- lmerTest::lmer(f, data = d, REML = TRUE, control = lctrl)
  cf <- summary(m)$coefficients
  row <- function(term) {
    est <- cf[term, "Estimate"]; se <- cf[term, "Std. Error"]; df <- cf[term, "df"]
    list(estimate = est, se = se, df = df, ci_low = est - qt(0.975, df) * se,
         ci_high = est + qt(0.975, df) * se, p = 2 * pt(-abs(est / se), df))
  }
  list(nobs = nobs(m), loglik = as.numeric(logLik(m)), singular = isSingular(m),
       formula = paste(deparse(f, width.cutoff = 500), collapse = ""),
       within = row("t_within"), across = row("t_across"))
}

# Recovery overall effect with 25 adaptive quadrature points (scalar random effect).
recovery_agq <- function() {
  d <- all[complete.cases(all[, c("trial", "treat", "recovery", "function0")]), ]
  arms <- tapply(d$treat, d$trial, function(t) length(unique(t)))
  d <- d[d$trial %in% names(arms)[arms == 2], ]
  d$bc <- centre(d$function0, d$trial)
  m <- glmer(recovery ~ 0 + factor(trial) + bc + treat + (0 + treat | trial), data = d,
             family = binomial, nAGQ = 25, control = gctrl)
  cf <- summary(m)$coefficients
  list(nobs = nobs(m), loglik = as.numeric(logLik(m)), coef = cf["treat", "Estimate"],
       se = cf["treat", "Std. Error"])
}

# Subgroups of a trial-level modifier: medication replaced by each trial's first value (NA as
# 0), so it is constant within every trial. The category indicator is then absorbed by the
# stratified intercepts (dropped); the per-category treatment effects stay estimable.
trial_level_subgroup <- function() {
  saved <- all
  m0 <- ifelse(is.na(all$medication), 0, all$medication)
  all$medication <<- ave(m0, all$trial, FUN = function(v) rep(v[1], length(v)))
  on.exit(all <<- saved)
  d <- all[complete.cases(all[, c("trial", "treat", "pain", "pain0", "age", "female",
                                  "medication")]), ]
  arms <- tapply(d$treat, d$trial, function(t) length(unique(t)))
  d <- d[d$trial %in% names(arms)[arms == 2], ]
  d$y <- d$pain
  d$bc <- centre(d$pain0, d$trial)
  for (a in c("age", "female")) {
    d[[paste0(a, "_c")]] <- centre(d[[a]], d$trial)
    d[[paste0("t_", a)]] <- d$treat * d[[paste0(a, "_c")]]
  }
  d$tin1 <- d$treat * (d$medication == 0)
  d$tin2 <- d$treat * (d$medication == 1)
  m <- lmerTest::lmer(y ~ 0 + factor(trial) + bc + age_c + t_age + female_c + t_female + tin1 +
                        tin2 + (0 + treat | trial) + (0 + bc | trial), data = d, REML = TRUE,
                      control = lctrl)
  cf <- summary(m)$coefficients
  lapply(list(No = "tin1", Yes = "tin2"), function(term) {
    est <- cf[term, "Estimate"]; se <- cf[term, "Std. Error"]; df <- cf[term, "df"]
    list(estimate = est, se = se, df = df, ci_low = est - qt(0.975, df) * se,
         ci_high = est + qt(0.975, df) * se, p = 2 * pt(-abs(est / se), df))
  })
}

out <- list(
  subgroup_trial_level_medication = trial_level_subgroup(),
  variant_interaction_random = variant_cell(TRUE, FALSE),
  variant_prognostic_stratified = variant_cell(FALSE, TRUE),
  recovery_any_agq25 = recovery_agq(),
  categorical_pain_any_region = categorical_cell("pain", "any", "region"),
  subgroup_pain_any_bmi = subgroup("pain", "any", "bmi"),
  subgroup_recovery_any_medication = subgroup("recovery", "any", "medication"),
  options_function_any_medication = options_cell("function", "any", "medication"),
  overall_pain_usual = cell("pain", "usual"),
  overall_recovery_any = cell("recovery", "any"),
  function_any_medication_adjusted = cell("function", "any", "medication", TRUE),
  pain_any_bmi = cell("pain", "any", "bmi"),
  pain_usual_bmi_adjusted = cell("pain", "usual", "bmi", TRUE),
  recovery_any_medication = cell("recovery", "any", "medication"),
  recovery_any_bmi_adjusted = cell("recovery", "any", "bmi", TRUE))
out$versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                     lmerTest = as.character(packageVersion("lmerTest")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "xcheck_grid.json"), useBytes = TRUE)
