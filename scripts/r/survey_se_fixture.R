# Reference numbers for bizenv's unit-index standard errors, computed by R's survey package.
#
# Builds a deterministic respondent-level data set (fixed seed), then for every unit (a domain:
# the respondents who rated it completely) records svymean(~y, subset(design, in_unit)) with its
# linearization SE, for four designs:
#   unweighted      svydesign(ids = ~1, weights = ~one)
#   weighted        svydesign(ids = ~1, weights = ~base_weight)
#   raked           rake(unweighted, list(~size, ~district), population margins)
#   raked_weighted  rake(weighted,   list(~size, ~district), population margins)
# and the raked weights. The tests in tests/unit/scoring/test_variance.py read the CSVs and do
# not need R. Rerun with
#   Rscript scripts/r/survey_se_fixture.R [output folder, default tests/fixtures/r_survey]
# Values are rounded before use (scores to 4 decimals, base weights to 6) so that the CSVs hold
# exactly the numbers R used.

suppressPackageStartupMessages(library(survey))

args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[[1]] else file.path("tests", "fixtures", "r_survey")
dir.create(out, recursive = TRUE, showWarnings = FALSE)

set.seed(20240517)
n <- 900
units <- c("A", "B", "C")
sizes <- c("large", "medium", "small", "micro")
districts <- c("d1", "d2", "d3", "d4", "d5")

respondents <- data.frame(
  respondent_hash = sprintf("r%04d", seq_len(n)),
  size = factor(sample(sizes, n, replace = TRUE, prob = c(0.15, 0.3, 0.35, 0.2)), levels = sizes),
  district = factor(sample(districts, n, replace = TRUE, prob = c(0.4, 0.2, 0.1, 0.2, 0.1)), levels = districts),
  base_weight = round(runif(n, 0.5, 2.5), 6),
  stringsAsFactors = FALSE
)

# Each respondent rates one unit (300 each); 120 of them rate a second, different one.
first <- sample(rep(units, each = n / 3))
twice <- sample(seq_len(n), 120)
second <- vapply(twice, function(i) sample(setdiff(units, first[i]), 1), character(1))
long <- rbind(
  data.frame(respondent_hash = respondents$respondent_hash, unit_code = first),
  data.frame(respondent_hash = respondents$respondent_hash[twice], unit_code = second)
)
long <- long[order(long$respondent_hash, long$unit_code), ]
rownames(long) <- NULL
rows <- match(long$respondent_hash, respondents$respondent_hash)

# Scores depend on the raked attributes, so calibration changes both means and SEs.
size_effect <- c(large = 8, medium = 4, small = -2, micro = -6)
district_effect <- c(d1 = 3, d2 = -4, d3 = 6, d4 = 0, d5 = -8)
unit_effect <- c(A = 5, B = 0, C = -5)
base <- 70 + size_effect[as.character(respondents$size[rows])] +
  district_effect[as.character(respondents$district[rows])] + unit_effect[long$unit_code]
long$score <- round(pmin(100, pmax(0, base + rnorm(nrow(long), 0, 15))), 4)
# A dimension near the top of the scale, with missing answers.
long$attitude <- round(pmin(100, pmax(0, base + 20 + rnorm(nrow(long), 0, 12))), 4)
long$attitude[runif(nrow(long)) < 0.08] <- NA
long$complete <- runif(nrow(long)) >= 0.05

# Respondent-level (wide) frame for R: y_<unit> and in_<unit> per unit.
wide <- respondents
for (u in units) {
  here <- long[long$unit_code == u, ]
  at <- match(wide$respondent_hash, here$respondent_hash)
  wide[[paste0("score_", u)]] <- here$score[at]
  wide[[paste0("attitude_", u)]] <- here$attitude[at]
  wide[[paste0("in_", u)]] <- !is.na(at) & here$complete[at] %in% TRUE
}
wide$one <- 1

pop_size <- data.frame(size = factor(sizes, levels = sizes), Freq = c(300, 1700, 9000, 14000))
pop_district <- data.frame(
  district = factor(districts, levels = districts), Freq = c(9000, 5000, 2000, 6000, 3000)
)
margins <- rbind(
  data.frame(attribute = "size", category = sizes, population = pop_size$Freq),
  data.frame(attribute = "district", category = districts, population = pop_district$Freq)
)

# Raking to full convergence (epsilon below 1 is relative to the weight total).
control <- list(maxit = 500, epsilon = 1e-11, verbose = FALSE)
unweighted <- svydesign(ids = ~1, weights = ~one, data = wide)
weighted <- svydesign(ids = ~1, weights = ~base_weight, data = wide)
designs <- list(
  unweighted = unweighted,
  weighted = weighted,
  raked = rake(unweighted, list(~size, ~district), list(pop_size, pop_district), control = control),
  raked_weighted = rake(weighted, list(~size, ~district), list(pop_size, pop_district), control = control)
)

results <- list()
for (scenario in names(designs)) {
  design <- designs[[scenario]]
  for (u in units) {
    for (variable in c("score", "attitude")) {
      column <- paste0(variable, "_", u)
      inside <- wide[[paste0("in_", u)]]
      domain <- subset(design, inside)
      est <- svymean(as.formula(paste0("~", column)), domain, na.rm = TRUE)
      results[[length(results) + 1]] <- data.frame(
        scenario = scenario,
        unit_code = u,
        variable = variable,
        n_respondents = sum(inside & !is.na(wide[[column]])),
        n_design = nrow(wide),
        mean = unname(coef(est)),
        se = unname(SE(est)),
        r_version = R.version.string,
        survey_version = as.character(packageVersion("survey"))
      )
    }
  }
}
results <- do.call(rbind, results)

raked_weights <- data.frame(
  respondent_hash = wide$respondent_hash,
  raked = weights(designs$raked),
  raked_weighted = weights(designs$raked_weighted)
)

write_csv <- function(frame, name) {
  # 17 significant digits: the numbers read back are R's doubles.
  for (column in names(frame)) {
    if (is.double(frame[[column]])) frame[[column]] <- sprintf("%.17g", frame[[column]])
  }
  frame[is.na(frame) | frame == "NA"] <- ""
  write.csv(frame, file.path(out, name), row.names = FALSE, na = "", quote = TRUE)
}
write_csv(respondents[, c("respondent_hash", "size", "district", "base_weight")], "respondents.csv")
write_csv(long, "responses.csv")
write_csv(margins, "margins.csv")
write_csv(results, "results.csv")
write_csv(raked_weights, "raked_weights.csv")
cat("wrote", nrow(results), "estimates to", out, "with", R.version.string, "and survey",
    as.character(packageVersion("survey")), "\n")
