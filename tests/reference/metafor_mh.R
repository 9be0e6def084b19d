# Reference effect sizes for counts (escalc RR, OR, RD, IRR with zero-cell corrections) and
# Mantel-Haenszel / Peto pooling (rma.mh, rma.peto), written with metafor 3.8-1.
# Run from the repository root:  Rscript tests/reference/metafor_mh.R
# Writes tests/reference/metafor_counts.csv (2x2 tables: ai, n1i, ci, n2i),
# tests/reference/metafor_rates.csv (x1i, t1i, x2i, t2i) and tests/reference/metafor_mh.json.
suppressMessages(library(metafor))
library(jsonlite)
out_dir <- "tests/reference"

two <- function(name, study, ai, n1i, ci, n2i) {
  data.frame(dataset = name, study = study, ai = ai, n1i = n1i, ci = ci, n2i = n2i)
}
counts <- rbind(
  two("bcg", paste(dat.bcg$author, dat.bcg$year), dat.bcg$tpos, dat.bcg$tpos + dat.bcg$tneg,
      dat.bcg$cpos, dat.bcg$cpos + dat.bcg$cneg),
  two("nielweise", paste(dat.nielweise2007$author, dat.nielweise2007$year),
      dat.nielweise2007$ai, dat.nielweise2007$n1i, dat.nielweise2007$ci,
      dat.nielweise2007$n2i),
  two("yusuf", paste(dat.yusuf1985$trial, dat.yusuf1985$id),
      dat.yusuf1985$ai, dat.yusuf1985$n1i, dat.yusuf1985$ci, dat.yusuf1985$n2i)[1:15, ],
  # zero cells of every kind: one-arm zero, double zero, all events in both arms
  two("zeros", c("z1", "z2", "z3", "z4", "z5", "z6"), c(0, 0, 10, 3, 12, 5),
      c(20, 15, 10, 30, 12, 25), c(4, 0, 8, 0, 12, 9), c(22, 14, 12, 28, 12, 24))
)
counts <- counts[!is.na(counts$ai), ]
rates <- data.frame(dataset = "hart", study = dat.hart1999$study, x1i = dat.hart1999$x1i,
                    t1i = dat.hart1999$t1i, x2i = dat.hart1999$x2i, t2i = dat.hart1999$t2i)
rates <- rbind(rates, data.frame(dataset = "hart", study = c("zero-a", "zero-both"),
                                 x1i = c(0, 0), t1i = c(120, 80), x2i = c(3, 0),
                                 t2i = c(100, 90)))

num <- function(x) as.numeric(x)
for (measure in c("RR", "OR", "RD")) {
  es <- escalc(measure, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = counts)
  counts[[paste0(tolower(measure), "_yi")]] <- num(es$yi)
  counts[[paste0(tolower(measure), "_vi")]] <- num(es$vi)
  es <- escalc(measure, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = counts, to = "all",
               add = 0.25)
  counts[[paste0(tolower(measure), "_all_yi")]] <- num(es$yi)
  counts[[paste0(tolower(measure), "_all_vi")]] <- num(es$vi)
  es <- escalc(measure, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = counts, drop00 = TRUE)
  counts[[paste0(tolower(measure), "_drop_yi")]] <- num(es$yi)
}
es <- escalc("IRR", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, data = rates)
rates$irr_yi <- num(es$yi); rates$irr_vi <- num(es$vi)
es <- escalc("IRR", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, data = rates, drop00 = TRUE)
rates$irr_drop_yi <- num(es$yi)

summ <- function(res) {
  out <- list(beta = num(res$beta), se = res$se, ci_lb = res$ci.lb, ci_ub = res$ci.ub,
              zval = res$zval, pval = res$pval, QE = res$QE, QEp = res$QEp, I2 = res$I2,
              H2 = res$H2, k = res$k, k_yi = res$k.yi)
  for (name in c("CO", "COp", "MH", "MHp", "BD", "BDp", "TA", "TAp", "k.pos")) {
    if (!is.null(res[[name]])) out[[gsub(".", "_", name, fixed = TRUE)]] <- res[[name]]
  }
  out
}
results <- list()
for (name in unique(counts$dataset)) {
  d <- counts[counts$dataset == name, ]
  fits <- list()
  for (measure in c("OR", "RR", "RD")) {
    fits[[paste0("MH_", measure)]] <- summ(rma.mh(ai = ai, n1i = n1i, ci = ci, n2i = n2i,
                                                  data = d, measure = measure))
  }
  fits$MH_OR_nocorrect <- summ(rma.mh(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d,
                                      measure = "OR", correct = FALSE))
  fits$PETO <- summ(rma.peto(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d))
  results[[name]] <- fits
}
d <- rates
results$hart <- list(MH_IRR = summ(rma.mh(x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i,
                                          data = d, measure = "IRR")))

write.csv(counts, file.path(out_dir, "metafor_counts.csv"), row.names = FALSE)
write.csv(rates, file.path(out_dir, "metafor_rates.csv"), row.names = FALSE)
meta <- list(metafor = as.character(packageVersion("metafor")), R = R.version.string)
writeLines(toJSON(list(meta = meta, datasets = results), auto_unbox = TRUE, digits = NA,
                  pretty = TRUE, na = "null"),
           file.path(out_dir, "metafor_mh.json"))
