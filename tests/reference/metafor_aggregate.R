# Reference for IPD + aggregate data (two-stage, Riley et al. 2008): per-trial ANCOVA (lm) on
# the IPD of metafor_twostage_ipd.csv plus three trials with only a published mean
# difference and SE, pooled together by metafor rma.
# Run from the repository root:  Rscript tests/reference/metafor_aggregate.R
# Writes tests/reference/metafor_aggregate.json (the AD rows are in the JSON too).
suppressMessages(library(metafor))
library(jsonlite)
out_dir <- "tests/reference"
ipd <- read.csv(file.path(out_dir, "metafor_twostage_ipd.csv"))
tight <- list(threshold = 1e-10, maxiter = 10000)
est <- c(); se <- c(); trial <- c()
for (tr in unique(ipd$trial)) {
  cf <- summary(lm(pain ~ pain0 + treat, data = ipd[ipd$trial == tr, ]))$coefficients
  est <- c(est, cf["treat", 1]); se <- c(se, cf["treat", 2]); trial <- c(trial, tr)
}
ad <- data.frame(trial = c("ad-smith", "ad-jones", "ad-lee"), estimate = c(-12.5, -2.1, -7.4),
                 se = c(4.2, 3.1, 6.8))
fits <- list()
for (method in c("REML", "DL")) {
  for (test in c("z", "knha")) {
    res <- rma(c(est, ad$estimate), sei = c(se, ad$se), method = method, test = test,
               control = tight)
    ipd_only <- rma(est, sei = se, method = method, test = test, control = tight)
    fits[[paste(method, test, sep = "_")]] <- list(
      combined = list(estimate = as.numeric(res$beta), se = res$se, ci_low = res$ci.lb,
                      ci_high = res$ci.ub, tau2 = res$tau2, i2 = res$I2, k = res$k),
      ipd_only = list(estimate = as.numeric(ipd_only$beta), se = ipd_only$se,
                      tau2 = ipd_only$tau2, k = ipd_only$k))
  }
}
writeLines(toJSON(list(aggregate = ad, fits = fits), auto_unbox = TRUE, digits = NA,
                  pretty = TRUE, dataframe = "columns"),
           file.path(out_dir, "metafor_aggregate.json"))
