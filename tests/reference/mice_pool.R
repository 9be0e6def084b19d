# Reference fixture for ipdma.impute.pool (Rubin's rules with Barnard-Rubin df), issue 17.
# Writes, into mice_pool/:
#   nhanes_completed.csv   the m = 7 completed datasets of mice(nhanes), long format (.imp)
#   nhanes_pool.csv        mice::pool() of lm(chl ~ age + bmi + hyp) on them
#   scalar_input.csv       estimates and variances for pool.scalar (dfcom = Inf and 25)
#   scalar_pool.csv        mice::pool.scalar() of them
# Run from tests/reference:  Rscript mice_pool.R
suppressMessages(library(mice))
out <- "mice_pool"
dir.create(out, showWarnings = FALSE)
data <- nhanes
data$age <- as.numeric(data$age)
imp <- mice(data, m = 7, seed = 20261129, printFlag = FALSE, method = "pmm")
long <- complete(imp, "long")
write.csv(long[, c(".imp", ".id", "age", "bmi", "hyp", "chl")],
          file.path(out, "nhanes_completed.csv"), row.names = FALSE)
fits <- with(imp, lm(chl ~ age + bmi + hyp))
pooled <- pool(fits)$pooled
summ <- summary(pool(fits), conf.int = TRUE)
res <- data.frame(term = as.character(pooled$term), m = pooled$m, estimate = pooled$estimate,
                  ubar = pooled$ubar, b = pooled$b, t = pooled$t, dfcom = pooled$dfcom,
                  df = pooled$df, riv = pooled$riv, lambda = pooled$lambda, fmi = pooled$fmi,
                  std.error = summ$std.error, statistic = summ$statistic, p.value = summ$p.value,
                  conf.low = summ[["2.5 %"]], conf.high = summ[["97.5 %"]])
write.csv(res, file.path(out, "nhanes_pool.csv"), row.names = FALSE)
set.seed(7)
q <- c(-0.42, -0.61, -0.35, -0.55, -0.48, -0.39, -0.52, -0.60, -0.44, -0.50)
u <- c(0.031, 0.029, 0.035, 0.030, 0.033, 0.028, 0.032, 0.034, 0.030, 0.031)
write.csv(data.frame(estimate = q, variance = u), file.path(out, "scalar_input.csv"),
          row.names = FALSE)
rows <- list()
for (n in c(Inf, 26)) {
  s <- pool.scalar(q, u, n = n, k = 1)
  rows[[length(rows) + 1]] <- data.frame(dfcom = n - 1, qbar = s$qbar, ubar = s$ubar, b = s$b,
                                         t = s$t, df = s$df, r = s$r, fmi = s$fmi)
}
write.csv(do.call(rbind, rows), file.path(out, "scalar_pool.csv"), row.names = FALSE)
writeLines(capture.output(sessionInfo()), file.path(out, "sessionInfo.txt"))
