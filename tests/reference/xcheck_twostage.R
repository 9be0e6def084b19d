# Independent cross-check (VERIFY helper): two-stage estimates beside the one-stage grid
# (issue 7, item 6) on xcheck_grid.csv, pain / any comparison:
#   stage 1: per trial with both arms, lm(pain ~ pain0 + treat) (overall) or
#            lm(pain ~ pain0 + treat * medication_c) (interaction; trials where medication
#            varies), coefficient and its squared SE;
#   stage 2: metafor::rma(yi, vi, method = "REML"), Wald z CI.
# Writes xcheck_twostage.json.   Rscript tests/reference/xcheck_twostage.R
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
here <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else "tests/reference"
})
all <- read.csv(file.path(here, "xcheck_grid.csv"), stringsAsFactors = FALSE, check.names = FALSE)
stage <- function(modifier) {
  cols <- c("trial", "treat", "pain", "pain0", modifier)
  d <- all[complete.cases(all[, cols]), ]
  est <- c(); v <- c(); ids <- c()
  for (tr in sort(unique(d$trial))) {
    s <- d[d$trial == tr, ]
    if (length(unique(s$treat)) < 2) next
    if (is.null(modifier)) {
      m <- lm(pain ~ pain0 + treat, data = s); term <- "treat"
    } else {
      if (length(unique(s[[modifier]])) < 2) next
      s$zc <- s[[modifier]] - mean(s[[modifier]])
      m <- lm(pain ~ pain0 + treat * zc, data = s); term <- "treat:zc"
    }
    cf <- summary(m)$coefficients
    if (!term %in% rownames(cf)) next
    est <- c(est, cf[term, 1]); v <- c(v, cf[term, 2]^2); ids <- c(ids, tr)
  }
  fit <- rma(est, v, method = "REML", control = list(threshold = 1e-12, maxiter = 1000))
  list(trials = ids, yi = est, vi = v, estimate = as.numeric(fit$b), se = fit$se,
       ci_low = fit$ci.lb, ci_high = fit$ci.ub, p = fit$pval, tau2 = fit$tau2)
}
out <- list(overall_pain_any = stage(NULL), pain_any_medication = stage("medication"),
            versions = list(metafor = as.character(packageVersion("metafor"))))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "xcheck_twostage.json"))
