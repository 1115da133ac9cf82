# Reference values for canary's statistics, computed with R's stats package.
#
#   Rscript canary/stats/testdata/reference/gen.R > canary/stats/testdata/reference/reference.json
#
# Writes, for fixed inputs, what R's wilcox.test(x, y, conf.int = TRUE) and
# prop.test(c(x1, x2), c(n1, n2)) report, so the Go tests can check
# MannWhitneyDirected, TwoProportion and TwoProportionInterval against them
# without R installed. Base R only (no jsonlite): the JSON is written by hand,
# numbers with 17 significant digits so every double round-trips exactly,
# infinite interval ends as the strings "Inf" and "-Inf".

num <- function(v) {
  if (is.infinite(v)) return(if (v > 0) '"Inf"' else '"-Inf"')
  if (is.na(v)) stop("NA in output")
  sprintf("%.17g", v)
}
vec <- function(v) paste0("[", paste(vapply(v, num, ""), collapse = ", "), "]")
str <- function(s) paste0('"', s, '"')
obj <- function(...) {
  kv <- list(...)
  paste0("{", paste(sprintf('"%s": %s', names(kv), unlist(kv)), collapse = ", "), "}")
}

alternatives <- c("two.sided", "greater", "less")

mw <- list()
add_mw <- function(name, x, y, conf.level = 0.95) {
  for (alt in alternatives) {
    r <- suppressWarnings(wilcox.test(x, y, alternative = alt, conf.int = TRUE, conf.level = conf.level))
    mw[[length(mw) + 1]] <<- obj(
      name = str(name), alternative = str(alt), confLevel = num(conf.level),
      x = vec(x), y = vec(y),
      exact = if (grepl("exact", r$method)) "true" else "false",
      W = num(r$statistic), pValue = num(r$p.value),
      estimate = num(r$estimate), lower = num(r$conf.int[1]), upper = num(r$conf.int[2]))
  }
}

# Exact distribution: small samples without ties.
add_mw("separated 5v5 (worked example)", c(20, 22, 21, 25, 30), c(1, 2.2, 1.1, 2.5, 3))
add_mw("interleaved 4v6", c(1.3, 2.9, 4.4, 0.7), c(1.1, 2.5, 3.3, 5.2, 0.2, 3.9))
add_mw("interleaved 4v6, 90%", c(1.3, 2.9, 4.4, 0.7), c(1.1, 2.5, 3.3, 5.2, 0.2, 3.9), 0.90)
add_mw("interleaved 4v6, 30% (upper quantile branch of qwilcox)", c(1.3, 2.9, 4.4, 0.7), c(1.1, 2.5, 3.3, 5.2, 0.2, 3.9), 0.30)
add_mw("one value against five", 3.5, c(1, 2, 3, 4, 5.5))
add_mw("2v2: 95% not achievable", c(10, 11), c(1, 2))
set.seed(4)
x <- rnorm(12, 0.21, 0.02); y <- rnorm(15, 0.20, 0.02)
add_mw("latencies 12v15, no ties", x, y)
add_mw("latencies 12v15, no ties, 99%", x, y, 0.99)
x <- rnorm(49, 0.30, 0.05); y <- rnorm(49, 0.25, 0.05)
add_mw("49v49, largest exact", x, y)

# Normal approximation: ties, or 50 values or more.
add_mw("ties 4v4 (worked example)", c(1, 1, 2, 3), c(2, 2, 4, 5))
add_mw("ties 6v5", c(3, 3, 4, 7, 7, 9), c(1, 3, 4, 4, 8))
add_mw("one tie, 5v5", c(20, 22, 21, 25, 30), c(1, 2.2, 1.1, 2.5, 20))
add_mw("constant experiment", c(5, 5, 5, 5), c(1, 3, 5, 7, 9))
set.seed(7)
x <- round(rnorm(20, 0.250, 0.03), 2); y <- round(rnorm(25, 0.240, 0.03), 2)
add_mw("rounded latencies 20v25, heavy ties", x, y)
add_mw("rounded latencies 20v25, heavy ties, 30%", x, y, 0.30)
x <- rnorm(60, 0.30, 0.04); y <- rnorm(60, 0.20, 0.04)
add_mw("60v60 p99 per minute, shifted", x, y)
x <- rnorm(60, 0.20, 0.04); y <- rnorm(60, 0.20, 0.04)
add_mw("60v60 p99 per minute, same", x, y)
add_mw("60v60 p99 per minute, same, 80%", x, y, 0.80)
x <- round(rlnorm(80, log(0.12), 0.3), 3); y <- round(rlnorm(120, log(0.12), 0.3), 3)
add_mw("80v120 millisecond latencies, ties", x, y)
x <- rnorm(50, 10, 1); y <- rnorm(3, 10, 1)
add_mw("50v3, normal approximation by size", x, y)

pt <- list()
add_pt <- function(name, x1, n1, x2, n2, conf.level = 0.95) {
  for (correct in c(TRUE, FALSE)) for (alt in alternatives) {
    r <- suppressWarnings(prop.test(c(x1, x2), c(n1, n2), alternative = alt, conf.level = conf.level, correct = correct))
    z <- sign(x1 / n1 - x2 / n2) * sqrt(r$statistic)
    pt[[length(pt) + 1]] <<- obj(
      name = str(name), alternative = str(alt), correct = if (correct) "true" else "false",
      confLevel = num(conf.level), x1 = num(x1), n1 = num(n1), x2 = num(x2), n2 = num(n2),
      statistic = num(r$statistic), z = num(z), pValue = num(r$p.value),
      lower = num(r$conf.int[1]), upper = num(r$conf.int[2]))
  }
}
add_pt("worked example: 7.5% against 3%", 30, 400, 120, 4000)
add_pt("equal rates", 10, 1000, 50, 5000)
add_pt("lower candidate (a fix)", 10, 200, 800, 4000)
add_pt("stable without errors", 3, 150, 0, 3000)
add_pt("candidate without errors", 0, 120, 25, 2500)
add_pt("Yates capped: nearly equal", 101, 1000, 100, 1001)
add_pt("small counts", 2, 20, 1, 30)
add_pt("large window, 99%", 1234, 100000, 9876, 900000, 0.99)
add_pt("throttles 90%", 45, 1045, 300, 10300, 0.90)

cat("{\n")
cat(sprintf('"generator": %s,\n', str(paste("gen.R with", R.version.string))))
cat('"mannWhitney": [\n', paste(unlist(mw), collapse = ",\n"), "\n],\n", sep = "")
cat('"twoProportion": [\n', paste(unlist(pt), collapse = ",\n"), "\n]\n", sep = "")
cat("}\n")
