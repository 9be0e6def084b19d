# Reference effect sizes from group summaries (metafor 3.8-1 escalc, default vtype).
# Run from the repository root:  Rscript tests/reference/metafor_escalc.R
# Writes tests/reference/metafor_escalc_continuous.csv (MD and SMD) and
# tests/reference/metafor_escalc_binary.csv (log odds ratios; zero cells get +1/2 in all
# four cells of that study, double-zero studies are kept: add=1/2, to="only0", drop00=FALSE).
suppressMessages(library(metafor))
out_dir <- "tests/reference"

cont <- dat.normand1999[, c("source", "n1i", "m1i", "sd1i", "n2i", "m2i", "sd2i")]
# add small-sample rows where Hedges' correction matters (n = 2..5 per arm)
extra <- data.frame(source = c("tiny-a", "tiny-b", "tiny-c"), n1i = c(2, 3, 5),
                    m1i = c(10.5, 3.2, -1), sd1i = c(2.1, 1.4, 0.7), n2i = c(2, 4, 3),
                    m2i = c(8, 5.9, -1.4), sd2i = c(1.3, 2.2, 0.4))
cont <- rbind(cont, extra)
md <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
             data = cont)
smd <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
              data = cont)
cont$md_yi <- as.numeric(md$yi); cont$md_vi <- md$vi
cont$smd_yi <- as.numeric(smd$yi); cont$smd_vi <- smd$vi
write.csv(cont, file.path(out_dir, "metafor_escalc_continuous.csv"), row.names = FALSE)

b1 <- data.frame(study = paste(dat.nielweise2007$author, dat.nielweise2007$year),
                 ai = dat.nielweise2007$ai, n1i = dat.nielweise2007$n1i,
                 ci = dat.nielweise2007$ci, n2i = dat.nielweise2007$n2i)
b2 <- data.frame(study = paste(dat.bcg$author, dat.bcg$year), ai = dat.bcg$tpos,
                 n1i = dat.bcg$tpos + dat.bcg$tneg, ci = dat.bcg$cpos,
                 n2i = dat.bcg$cpos + dat.bcg$cneg)
b3 <- data.frame(study = c("all-events", "zero-nonevents"), ai = c(10, 7), n1i = c(10, 12),
                 ci = c(4, 9), n2i = c(12, 9))
bin <- rbind(b1, b2, b3)
or <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = bin)
bin$or_yi <- as.numeric(or$yi); bin$or_vi <- or$vi
write.csv(bin, file.path(out_dir, "metafor_escalc_binary.csv"), row.names = FALSE)
