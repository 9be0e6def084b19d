# Reference results for ipdma.meta.pool, written with metafor 3.8-1.
# Run from the repository root:  Rscript tests/reference/metafor_pool.R
# Writes tests/reference/metafor_pool_data.csv (the yi, vi inputs) and
# tests/reference/metafor_pool.json (fits per dataset, method and test).
# Iterative estimators are run with tight convergence control (threshold 1e-10, tol 1e-12)
# so that the fixture is the exact root of the estimating equation; the JSON also
# records metafor's default-control REML/PM tau2 to document how far its default is.
suppressMessages(library(metafor))
library(jsonlite)
out_dir <- "tests/reference"
tight <- list(threshold = 1e-10, tol = 1e-12, maxiter = 10000)

bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
hine <- escalc("RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.hine1989)
niel <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.nielweise2007)
norm <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
               data = dat.normand1999)
few <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
              data = dat.normand1999[1:3, ])

datasets <- list(
  bcg = data.frame(study = paste(bcg$author, bcg$year), yi = bcg$yi, vi = bcg$vi,
                   group = bcg$alloc,
                   group2 = ifelse(bcg$alloc == "random", "random", "not random")),
  hine = data.frame(study = paste(hine$study), yi = hine$yi, vi = hine$vi, group = NA, group2 = NA),
  nielweise = data.frame(study = paste(niel$author, niel$year), yi = niel$yi, vi = niel$vi,
                         group = NA, group2 = NA),
  normand_smd = data.frame(study = norm$source, yi = norm$yi, vi = norm$vi, group = NA, group2 = NA),
  normand_few = data.frame(study = few$source, yi = few$yi, vi = few$vi, group = NA, group2 = NA)
)

fit_summary <- function(res, ci_tau2 = TRUE) {
  p_def <- predict(res)
  p_riley <- predict(res, pi.type = "riley")
  s <- list(
    estimate = as.numeric(res$beta), se = res$se, ci_low = res$ci.lb, ci_high = res$ci.ub,
    statistic = res$zval, p = res$pval, tau2 = res$tau2, se_tau2 = res$se.tau2,
    i2 = res$I2, h2 = res$H2, q = res$QE, q_p = res$QEp, k = res$k,
    pi_low = p_def$pi.lb, pi_high = p_def$pi.ub,
    pi_riley_low = p_riley$pi.lb, pi_riley_high = p_riley$pi.ub,
    loglik = as.numeric(logLik(res))
  )
  if (ci_tau2 && res$method != "FE") {
    # tau2.max widened: metafor's default search limit (10 * tau2) truncates the upper bound
    # of the Q-profile CI for the 3-study data set
    ci <- confint(res, control = list(tol = 1e-12, maxiter = 10000, tau2.max = 1e7))$random
    s$tau2_ci_low <- ci["tau^2", "ci.lb"]; s$tau2_ci_high <- ci["tau^2", "ci.ub"]
    s$i2_ci_low <- ci["I^2(%)", "ci.lb"]; s$i2_ci_high <- ci["I^2(%)", "ci.ub"]
    s$h2_ci_low <- ci["H^2", "ci.lb"]; s$h2_ci_high <- ci["H^2", "ci.ub"]
  }
  s
}

results <- list()
rows <- list()
for (name in names(datasets)) {
  d <- datasets[[name]]
  rows[[name]] <- cbind(dataset = name, d)
  fits <- list()
  for (method in c("FE", "DL", "REML", "ML", "PM")) {
    for (test in c("z", "knha", "adhoc")) {
      if (method == "FE" && test != "z") next
      res <- rma(d$yi, d$vi, method = method, test = test, control = tight)
      fits[[paste(method, test, sep = "_")]] <- fit_summary(res, ci_tau2 = (test == "z"))
    }
  }
  default_control <- list(
    REML = rma(d$yi, d$vi, method = "REML")$tau2,
    PM = rma(d$yi, d$vi, method = "PM")$tau2,
    ML = rma(d$yi, d$vi, method = "ML")$tau2
  )
  results[[name]] <- list(fits = fits, default_control_tau2 = default_control)
}

# Subgroup analysis (RevMan / metafor style): a separate random-effects model per subgroup,
# then the Q-between test = fixed-effect meta-regression of the subgroup estimates on group.
subgroups <- list()
for (name in c("group", "group2")) {
  d <- datasets$bcg
  d$group <- d[[name]]
  for (method in c("DL", "REML")) {
    levels_ <- sort(unique(d$group))
    per <- lapply(levels_, function(g) {
      dd <- d[d$group == g, ]
      res <- rma(dd$yi, dd$vi, method = method, control = tight)
      list(group = g, k = res$k, estimate = as.numeric(res$beta), se = res$se,
           ci_low = res$ci.lb, ci_high = res$ci.ub, tau2 = res$tau2, i2 = res$I2,
           q = res$QE, q_p = res$QEp)
    })
    est <- sapply(per, `[[`, "estimate"); se <- sapply(per, `[[`, "se")
    between <- rma(est, sei = se, mods = ~ factor(levels_), method = "FE")
    subgroups[[paste(name, method, sep = "_")]] <- list(
      dataset = "bcg", column = name, method = method, groups = per,
      q_between = between$QM, df_between = between$QMdf[1], p_between = between$QMp
    )
  }
}

write.csv(do.call(rbind, rows), file.path(out_dir, "metafor_pool_data.csv"), row.names = FALSE)
meta <- list(metafor = as.character(packageVersion("metafor")), R = R.version.string)
writeLines(toJSON(list(meta = meta, datasets = results, subgroups = subgroups),
                  auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           file.path(out_dir, "metafor_pool.json"))
