# Reference fits for the Poisson mixed-model engine (tests/models/test_poisson_reference.py).
#   Rscript tests/reference/glmm_poisson.R        (lme4 1.1-31, glmmTMB 1.1.5, jsonlite)
# Writes glmm_pois_ipd.csv, glmm_pois_int.csv, glmm_pois_grouse.csv (the data, simulated here
# with fixed seeds or taken from lme4's grouseticks) and glmm_poisson.json.
# glmer is run with the tight control of glmm_fit.R (tolPwrss 1e-13, bobyqa rhoend 1e-10):
# nAGQ = 25 where the random effect is scalar, Laplace otherwise; glmmTMB (Laplace, exact
# Hessian) as a second reference.
suppressPackageStartupMessages({library(lme4); library(glmmTMB); library(jsonlite)})
here <- "tests/reference"
ctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10),
                     calc.derivs = TRUE, tolPwrss = 1e-13)

glmer_info <- function(fit) {
  vc <- lapply(VarCorr(fit), function(m) unclass(m)[, , drop = FALSE])
  list(fixef = as.list(fixef(fit)), se = as.list(sqrt(diag(as.matrix(vcov(fit))))),
       loglik = as.numeric(logLik(fit)), theta = as.numeric(getME(fit, "theta")),
       varcorr = lapply(vc, function(m) list(names = colnames(m), matrix = unname(m))),
       nagq = fit@devcomp$dims[["nAGQ"]],
       messages = as.list(fit@optinfo$conv$lme4$messages))
}
tmb_info <- function(fit) {
  vc <- lapply(VarCorr(fit)$cond, function(m) unclass(m)[, , drop = FALSE])
  list(fixef = as.list(fixef(fit)$cond), se = as.list(sqrt(diag(vcov(fit)$cond))),
       loglik = as.numeric(logLik(fit)),
       varcorr = lapply(vc, function(m) list(names = colnames(m), matrix = unname(m))))
}
run <- function(formula, data, nagq_list) {
  out <- list()
  for (nagq in nagq_list) {
    fit <- glmer(formula, data = data, family = poisson, nAGQ = nagq, control = ctrl)
    out[[if (nagq == 1) "laplace" else paste0("agq", nagq)]] <- glmer_info(fit)
  }
  out$tmb <- tmb_info(glmmTMB(formula, data = data, family = poisson))
  out
}

simulate_ipd <- function(seed, K, intercept_sd, treat_sd, base_sd) {
  set.seed(seed)
  rows <- list()
  for (i in seq_len(K)) {
    n <- sample(40:160, 1)
    treat <- rbinom(n, 1, 0.5)
    base <- round(rnorm(n), 3)
    years <- round(runif(n, 0.25, 2), 3)
    a <- -0.2 + rnorm(1, 0, intercept_sd)
    b <- -0.35 + rnorm(1, 0, treat_sd)
    s <- 0.3 + rnorm(1, 0, base_sd)
    y <- rpois(n, years * exp(a + s * base + b * treat))
    rows[[i]] <- data.frame(trial = sprintf("t%02d", i), treat = treat, base = base,
                            years = years, y = y)
  }
  do.call(rbind, rows)
}

out <- list(versions = list(lme4 = as.character(packageVersion("lme4")),
                            glmmTMB = as.character(packageVersion("glmmTMB")),
                            R = R.version.string))

ipd <- simulate_ipd(2020, 12, 0.4, 0.25, 0.15)
write.csv(ipd, file.path(here, "glmm_pois_ipd.csv"), row.names = FALSE)
out$ipd <- c(list(formula = "y ~ 0 + C(trial) + base + treat + (0 + treat | trial)",
                  offset = "log(years)"),
             run(y ~ 0 + trial + base + treat + (0 + treat | trial) + offset(log(years)),
                 ipd, c(1, 25)))
out$ipd_two <- c(list(formula = "y ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)",
                      offset = "log(years)"),
                 run(y ~ 0 + trial + base + treat + (0 + treat | trial) + (0 + base | trial) +
                       offset(log(years)), ipd, c(1)))

int <- simulate_ipd(7, 9, 0.5, 0, 0)
write.csv(int, file.path(here, "glmm_pois_int.csv"), row.names = FALSE)
out$int <- c(list(formula = "y ~ base + treat + (1 | trial)", offset = "log(years)"),
             run(y ~ base + treat + (1 | trial) + offset(log(years)), int, c(1, 25)))
out$int_corr <- c(list(formula = "y ~ base + treat + (1 + treat | trial)", offset = "log(years)"),
                  run(y ~ base + treat + (1 + treat | trial) + offset(log(years)), int, c(1)))

g <- grouseticks
g <- data.frame(brood = as.character(g$BROOD), year = as.character(g$YEAR),
                height = g$HEIGHT - mean(g$HEIGHT), ticks = g$TICKS)
write.csv(g, file.path(here, "glmm_pois_grouse.csv"), row.names = FALSE)
out$grouse <- c(list(formula = "ticks ~ C(year) + height + (1 | brood)", offset = NULL),
                run(ticks ~ year + height + (1 | brood), g, c(1, 25)))

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
           file.path(here, "glmm_poisson.json"))
