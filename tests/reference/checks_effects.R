# Reference between-arm effects for ipdma check's replication of published effects:
# Student and Welch t-tests (t.test) and ANCOVA on the baseline (lm), of follow-up values
# and of change scores. Run from the repository root:  Rscript tests/reference/checks_effects.R
# Writes tests/reference/checks_effects.csv (data) and tests/reference/checks_effects.json.
library(jsonlite)
out_dir <- "tests/reference"
set.seed(12)
n <- 57
d <- data.frame(treat = rep(c(1, 0), length.out = n), base = round(rnorm(n, 60, 15), 1))
d$follow <- round(20 + 0.5 * d$base - 8 * d$treat + rnorm(n, 0, 12 + 4 * d$treat), 1)
d$change <- d$follow - d$base
write.csv(d, file.path(out_dir, "checks_effects.csv"), row.names = FALSE)
ttest <- function(y, equal) {
  t <- t.test(y[d$treat == 1], y[d$treat == 0], var.equal = equal)
  md <- unname(t$estimate[1] - t$estimate[2])
  list(md = md, se = unname(t$stderr))
}
ancova <- function(y) {
  cf <- summary(lm(y ~ d$base + d$treat))$coefficients
  list(md = cf[3, 1], se = cf[3, 2])
}
out <- list()
for (scale in c("follow", "change")) {
  out[[paste0("ttest_", scale)]] <- ttest(d[[scale]], TRUE)
  out[[paste0("welch_", scale)]] <- ttest(d[[scale]], FALSE)
  out[[paste0("ancova_", scale)]] <- ancova(d[[scale]])
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out_dir, "checks_effects.json"))
