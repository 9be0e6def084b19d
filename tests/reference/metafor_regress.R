# Reference results for ipdma.meta.regress / pool (tau2 estimators EB, SJ, HE, HS, se(tau2),
# Q-profile and profile-likelihood CIs for tau2, BLUPs, Knapp-Hartung and its ad hoc
# truncation), written with metafor 3.8-1.
# Run from the repository root:  Rscript tests/reference/metafor_regress.R
# Writes tests/reference/metafor_regress_data.csv (yi, vi and moderators per dataset) and
# tests/reference/metafor_regress.json (one entry per dataset, model, method and test).
# Tight control (threshold 1e-12, uniroot tol 1e-13): metafor's defaults stop the Fisher
# scoring / uniroot up to ~3e-4 from the exact root of tau2; default-control REML tau2 is kept
# in the JSON to document that distance.
suppressMessages(library(metafor))
library(jsonlite)
out_dir <- "tests/reference"
tight <- list(threshold = 1e-12, tol = 1e-13, maxiter = 100000)
ci_control <- list(tol = 1e-13, maxiter = 10000, tau2.max = 1e6)

bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
raud <- dat.raudenbush1985
hine <- escalc("RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.hine1989)
few <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
              data = dat.normand1999[1:3, ])
set.seed(20)
k_sim <- 16
sim <- data.frame(x1 = round(rnorm(k_sim, 50, 10), 1), x2 = rbinom(k_sim, 1, 0.4),
                  vi = round(runif(k_sim, 0.01, 0.2), 4))
sim$yi <- round(0.2 + 0.01 * (sim$x1 - 50) - 0.3 * sim$x2 + rnorm(k_sim, 0, 0.15) +
                rnorm(k_sim, 0, sqrt(sim$vi)), 4)

blank <- function(n) rep(NA, n)
datasets <- list(
  bcg = data.frame(study = paste(bcg$author, bcg$year), yi = bcg$yi, vi = bcg$vi,
                   ablat = bcg$ablat, year = bcg$year, alloc = bcg$alloc,
                   x1 = blank(13), x2 = blank(13)),
  raudenbush = data.frame(study = paste(raud$author, raud$year), yi = raud$yi, vi = raud$vi,
                          ablat = blank(19), year = raud$year, alloc = raud$tester,
                          x1 = raud$weeks, x2 = blank(19)),
  hine = data.frame(study = paste(hine$study), yi = hine$yi, vi = hine$vi,
                    ablat = blank(6), year = blank(6), alloc = blank(6), x1 = blank(6),
                    x2 = blank(6)),
  few = data.frame(study = few$source, yi = few$yi, vi = few$vi, ablat = blank(3),
                   year = blank(3), alloc = blank(3), x1 = blank(3), x2 = blank(3)),
  sim = data.frame(study = paste0("s", seq_len(k_sim)), yi = sim$yi, vi = sim$vi,
                   ablat = blank(k_sim), year = blank(k_sim), alloc = blank(k_sim),
                   x1 = sim$x1, x2 = sim$x2)
)
models <- list(
  bcg = c("~ 1", "~ ablat", "~ ablat + year", "~ alloc"),
  raudenbush = c("~ 1", "~ x1", "~ alloc"),
  hine = c("~ 1"),
  few = c("~ 1"),
  sim = c("~ 1", "~ x1 + x2")
)
methods <- c("FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")

num <- function(x) as.numeric(x)
fit_summary <- function(res, d, method, test) {
  s <- list(
    terms = rownames(res$beta), beta = num(res$beta), se = num(res$se), zval = num(res$zval),
    pval = num(res$pval), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
    vcov = unname(as.matrix(res$vb)), ddf = if (is.na(res$ddf[1])) NULL else res$ddf[1],
    QM = res$QM, QMdf = num(res$QMdf), QMp = res$QMp, QE = res$QE, QEp = res$QEp,
    tau2 = res$tau2, se_tau2 = res$se.tau2, I2 = res$I2, H2 = res$H2,
    R2 = if (is.null(res$R2)) NULL else res$R2, s2w = res$s2w,
    ll_ml = res$fit.stats["ll", "ML"], ll_reml = res$fit.stats["ll", "REML"],
    k = res$k, p = res$p
  )
  if (method != "FE") {
    b <- blup(res)
    s$blup <- list(pred = num(b$pred), se = num(b$se), pi_lb = num(b$pi.lb),
                   pi_ub = num(b$pi.ub))
    if (test == "z") {
      ci <- confint(res, control = ci_control)$random
      s$qp_ci <- num(ci["tau^2", c("ci.lb", "ci.ub")])
      s$qp_i2_ci <- num(ci["I^2(%)", c("ci.lb", "ci.ub")])
      if (method %in% c("ML", "REML")) {
        pl <- confint(res, type = "PL", control = ci_control)$random
        s$pl_ci <- num(pl["tau^2", c("ci.lb", "ci.ub")])
      }
    }
  }
  s
}

results <- list()
rows <- list()
for (name in names(datasets)) {
  d <- datasets[[name]]
  rows[[name]] <- cbind(dataset = name, d)
  entry <- list()
  for (mods in models[[name]]) {
    fits <- list()
    for (method in methods) {
      for (test in c("z", "knha", "adhoc")) {
        if (method == "FE" && test != "z") next
        res <- rma(yi, vi, mods = as.formula(mods), data = d, method = method, test = test,
                   control = tight)
        fits[[paste(method, test, sep = "_")]] <- fit_summary(res, d, method, test)
      }
    }
    default_reml <- rma(yi, vi, mods = as.formula(mods), data = d, method = "REML")$tau2
    entry[[mods]] <- list(fits = fits, default_control_reml_tau2 = default_reml)
  }
  results[[name]] <- entry
}

write.csv(do.call(rbind, rows), file.path(out_dir, "metafor_regress_data.csv"),
          row.names = FALSE)
meta <- list(metafor = as.character(packageVersion("metafor")), R = R.version.string,
             control = tight)
writeLines(toJSON(list(meta = meta, datasets = results), auto_unbox = TRUE, digits = NA,
                  pretty = TRUE, na = "null", matrix = "rowmajor"),
           file.path(out_dir, "metafor_regress.json"))
