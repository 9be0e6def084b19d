# Independent cross-checks (VERIFY helper), part 4: 40 small, boundary-prone datasets
# (xcheck_stress.csv, column `dataset`; 3..8 trials of 5..120), each fitted with the paper's
# model by lmer (REML and ML; bobyqa rhoend 1e-12) and the logistic paper model by glmer
# (Laplace; bobyqa rhoend 1e-10). Writes xcheck_stress.json.
#   Rscript tests/reference/xcheck_stress.R
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
here <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else "tests/reference"
})
lctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-12))
gctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10))
all <- read.csv(file.path(here, "xcheck_stress.csv"), fileEncoding = "UTF-8",
                stringsAsFactors = FALSE)
paper <- y ~ 0 + factor(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)
bpaper <- rec ~ 0 + factor(trial) + treat + (0 + treat | trial)
info <- function(m) list(fixef = as.list(fixef(m)), se = as.list(sqrt(diag(as.matrix(vcov(m))))),
                         loglik = as.numeric(logLik(m)), theta = unname(getME(m, "theta")),
                         singular = isSingular(m),
                         messages = as.list(m@optinfo$conv$lme4$messages))
out <- lapply(split(all, all$dataset), function(d) {
  g <- tryCatch(info(glmer(bpaper, data = d, family = binomial, control = gctrl)),
                error = function(e) list(error = conditionMessage(e)))
  list(dataset = d$dataset[1], trials = length(unique(d$trial)), n = nrow(d),
       reml = info(lmer(paper, data = d, REML = TRUE, control = lctrl)),
       ml = info(lmer(paper, data = d, REML = FALSE, control = lctrl)), laplace = g)
})
writeLines(toJSON(unname(out), auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "xcheck_stress.json"), useBytes = TRUE)
