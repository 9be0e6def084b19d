# Writes trial.sas7bdat for tests/io/test_read.py (pyreadstat cannot write SAS7BDAT).
#   Rscript tests/data/io/make_sas7bdat.R      (haven, via ReadStat's SAS7BDAT writer)
# The same values as FRAME in the test: pid, group, age (the third age missing).
suppressPackageStartupMessages(library(haven))
here <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else "tests/data/io"
})
d <- data.frame(pid = c(1, 2, 3), group = c(1, 2, 1), age = c(41.5, 52, NA))
write_sas(d, file.path(here, "trial.sas7bdat"))
