# glmnet's answers (R, independent of cadmm and scikit-learn) with per-feature terms: penalty.factor, exclude,
# lower.limits and upper.limits.
#   Rscript tests/data/glmnet_terms_reference.R tests/data/fixtures
# reads the data of some scikit-learn fixtures and writes glmnet_terms_<case>.csv next to them, each:
#   line 1: source fixture, alpha, lambda, lambda_max (glmnet's first path value), intercept, standardize, y scale,
#   offset (1: glmnet's offset = 20 sin(i) for rows i = 1..n, times t for target t of a multi-task y; 0: none),
#   weights (1: glmnet's weights = case_weights(n) below; 0: none)
#   (an elastic net's y is divided by its (weighted) standard deviation first: glmnet scales y to unit variance
#   inside, which changes its elastic-net objective unless y has it already; see glmnet's documentation of
#   `standardize`)
#   line 2: penalty factors as given ("-": none)       line 3: excluded features, 0-based ("-": none)
#   line 4: lower limits ("-": none)                   line 5: upper limits ("-": none)
#   line 6: intercept(s); following lines: one row of coefficients per feature.
# tests/cli/check_terms.py runs cadmm on the same data and options and compares.
suppressPackageStartupMessages({ library(glmnet); library(hdf5r) })
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) > 0) args[1] else "tests/data/fixtures"

read_xy <- function(file) {
  f <- H5File$new(file.path(dir, file), mode = "r")
  x <- t(f[["X"]]$read())  # h5py writes C order; hdf5r returns the dimensions reversed
  y <- f[["y"]]$read()
  if (is.matrix(y)) y <- t(y)
  f$close_all()
  list(x = x, y = y)
}

line <- function(v) if (is.null(v)) "-" else paste(sprintf("%.17g", v), collapse = ",")

# Observation weights of rows i = 1..n: 0 to 2 in steps of 0.2, zero on every 11th row (tests/cli/check_terms.py
# computes the same).
case_weights <- function(n) ((seq_len(n) * 37) %% 11) / 5

fit_case <- function(name, file, family = "gaussian", alpha = 1, ratio = 0.05, standardize = FALSE,
                     intercept = TRUE, pf = NULL, exclude = NULL, lower = NULL, upper = NULL, offset = FALSE,
                     weights = FALSE) {
  d <- read_xy(file)
  w <- if (weights) case_weights(nrow(d$x)) else rep(1, nrow(d$x))
  sy <- if (alpha < 1) sqrt(sum(w * (d$y - weighted.mean(d$y, w))^2) / sum(w)) else 1
  d$y <- d$y / sy
  args <- list(x = d$x, y = d$y, family = family, alpha = alpha, standardize = standardize, intercept = intercept,
               thresh = 1e-15, maxit = 1e7)
  if (weights) args$weights <- w
  if (!is.null(pf)) args$penalty.factor <- pf
  if (!is.null(exclude)) args$exclude <- exclude + 1  # glmnet numbers features from 1
  if (!is.null(lower)) args$lower.limits <- lower
  if (!is.null(upper)) args$upper.limits <- upper
  if (offset) {
    n <- nrow(d$x)
    args$offset <- if (is.matrix(d$y)) outer(20 * sin(seq_len(n)), seq_len(ncol(d$y))) else 20 * sin(seq_len(n))
  }
  path <- do.call(glmnet, args)
  lmax <- path$lambda[1]
  lam <- ratio * lmax
  args$lambda <- c(lmax, lam)
  fit <- do.call(glmnet, args)
  cf <- coef(fit, s = lam, exact = FALSE)
  b <- if (is.list(cf)) sapply(cf, function(m) as.numeric(m[, ncol(m)])) else matrix(as.numeric(cf[, ncol(cf)]), ncol = 1)
  con <- file(file.path(dir, paste0("glmnet_terms_", name, ".csv")), "w")
  writeLines(c(sprintf("%s,%.17g,%.17g,%.17g,%d,%d,%.17g,%d,%d", file, alpha, lam, lmax, as.integer(intercept),
                       as.integer(standardize), sy, as.integer(offset), as.integer(weights)),
               line(pf), line(exclude), line(lower), line(upper)), con)
  write.table(b, con, sep = ",", row.names = FALSE, col.names = FALSE)  # row 1: intercepts
  close(con)
  cat(sprintf("%s: lambda %.6g (%.3g x lambda_max %.6g)\n", name, lam, ratio, lmax))
}

# diabetes (442 x 10, raw scale): two unpenalized features, one penalized twice as much.
fit_case("factors_diabetes", "lasso_diabetes_raw.h5", pf = c(0, 1, 1, 2, 0, 1, 1, 0.5, 1, 1), ratio = 0.02)
# breast cancer (569 x 30, standardized): features excluded, bounds on the original scale.
fit_case("bounds_breast_std", "enet_breast.h5", standardize = TRUE, exclude = c(0, 5, 29), lower = -2, upper = 0.5,
         ratio = 0.01)
# non-negative elastic net with factors, standardized.
fit_case("positive_factors_enet_std", "enet_breast.h5", alpha = 0.5, standardize = TRUE, lower = 0,
         pf = c(0, rep(1, 28), 3), ratio = 0.02)
# per-feature bounds without an intercept.
fit_case("bounds_vector_no_intercept", "lasso_diabetes_raw.h5", intercept = FALSE, ratio = 0.01,
         lower = c(-Inf, -100, -Inf, 0, -50, -Inf, -Inf, 0, -Inf, -300), upper = c(Inf, 0, 300, Inf, 50, 10, Inf, Inf, 200, Inf))
# multi-task (mgaussian, the l21 penalty) with factors, one of them 0.
fit_case("factors_l21", "l21_linnerud.h5", family = "mgaussian", pf = c(0, 1, 2), ratio = 0.2)
# offsets: a lasso with factors, and a multi-task lasso with a (n, k) offset.
fit_case("offset_factors", "lasso_diabetes_raw.h5", pf = c(0, 1, 1, 2, 0, 1, 1, 0.5, 1, 1), ratio = 0.02, offset = TRUE)
fit_case("offset_l21", "l21_linnerud.h5", family = "mgaussian", ratio = 0.2, offset = TRUE)
# elastic net with an unpenalized feature, factors and an upper bound that binds.
fit_case("factors_bounds_enet", "lasso_diabetes_raw.h5", alpha = 0.3, pf = c(1, 0, 1, 1, 2, 1, 1, 1, 0.5, 1),
         upper = 0.05, ratio = 0.01)
# observation weights (some zero): a lasso with factors and an offset on the raw scale, a standardized elastic net
# with bounds (weighted means and variances), and the multi-task lasso.
fit_case("weights_factors_offset", "lasso_diabetes_raw.h5", pf = c(0, 1, 1, 2, 0, 1, 1, 0.5, 1, 1), ratio = 0.02,
         offset = TRUE, weights = TRUE)
fit_case("weights_enet_std", "enet_breast.h5", alpha = 0.5, standardize = TRUE, lower = -1, upper = 3, ratio = 0.01,
         weights = TRUE)
fit_case("weights_l21", "l21_linnerud.h5", family = "mgaussian", ratio = 0.1, weights = TRUE)

# cv with factors (one unpenalized feature, one excluded) and non-negative coefficients, on the data of
# cv_gaussian.h5 (X, y, foldid) over glmnet's own lambda sequence. The fold errors come from glmnet fitted on each
# fold's training rows, combined by cv.glmnet's rules (cvm: the fold-size-weighted mean; cvsd: the weighted standard
# deviation over sqrt(K - 1); lambda_min / lambda_1se by glmnet's getOptcv). cv.glmnet's own fold fits are not used:
# with penalty.factor, glmnet 4.1.6's cv.glmnet fits some folds differently from glmnet on the same rows (fold 3's
# error at the second lambda: 17.973 inside cv.glmnet, 18.131 from glmnet and from an exact coordinate descent).
# glmnet_terms_cv.csv (and glmnet_terms_cv_offset.csv, the same with glmnet's offset 20 sin(i); glmnet_terms_cv_weights.csv
# with weights case_weights(n): each fold's error the weighted mean over its rows, folds weighed by their weights' sum,
# as cv.glmnet does) hold
#   line 1: lambda_min, lambda_1se; line 2: penalty factors; line 3: excluded (0-based); line 4: lower limit;
#   then one line per lambda "lambda,cvm,cvsd"; then the intercept and coefficients of the fit at lambda_min.
cv_case <- function(name, with_offset, with_weights = FALSE) {
  f <- H5File$new(file.path(dir, "cv_gaussian.h5"), mode = "r")
  x <- t(f[["X"]]$read()); y <- f[["y"]]$read(); foldid <- as.integer(f[["foldid"]]$read())
  f$close_all()
  pf <- c(0, rep(1, ncol(x) - 2), 2)
  offset <- if (with_offset) 20 * sin(seq_along(y)) else rep(0, length(y))
  w <- if (with_weights) case_weights(length(y)) else rep(1, length(y))
  fit <- function(rows, lambda = NULL) {
    args <- list(x[rows, ], y[rows], penalty.factor = pf, exclude = 4, lower.limits = 0, standardize = FALSE,
                 thresh = 1e-15, maxit = 1e7)
    if (with_offset) args$offset <- offset[rows]
    if (with_weights) args$weights <- w[rows]
    if (is.null(lambda)) { args$nlambda <- 30; args$lambda.min.ratio <- 0.01 } else args$lambda <- lambda
    do.call(glmnet, args)
  }
  full <- fit(seq_along(y))
  lambda <- full$lambda
  K <- max(foldid)
  mse <- t(sapply(seq_len(K), function(k) {
    te <- foldid == k
    p <- predict(fit(!te, lambda), x[te, , drop = FALSE], newoffset = if (with_offset) offset[te] else NULL)
    colSums(w[te] * (y[te] - p)^2) / sum(w[te])
  }))
  N <- sapply(seq_len(K), function(k) sum(w[foldid == k]))
  cvm <- apply(mse, 2, weighted.mean, w = N)
  cvsd <- sqrt(apply(sweep(mse, 2, cvm)^2, 2, weighted.mean, w = N) / (K - 1))
  opt <- glmnet:::getOptcv.glmnet(lambda, cvm, cvsd, "mse")
  con <- file(file.path(dir, paste0("glmnet_terms_", name, ".csv")), "w")
  writeLines(c(sprintf("%.17g,%.17g", opt$lambda.min, opt$lambda.1se), line(pf), "3", "0"), con)
  writeLines(sprintf("%.17g,%.17g,%.17g", lambda, cvm, cvsd), con)
  writeLines(sprintf("%.17g", as.numeric(coef(full, s = opt$lambda.min, exact = FALSE))), con)
  close(con)
  cat(sprintf("%s: lambda.min %.6g, lambda.1se %.6g, %d lambdas\n", name, opt$lambda.min, opt$lambda.1se, length(lambda)))
}
cv_case("cv", FALSE)
cv_case("cv_offset", TRUE)
cv_case("cv_weights", FALSE, TRUE)

# Relaxed fits (relax = TRUE). glmnet_terms_relax_<case>.csv:
#   line 1: source fixture, alpha, standardize, y scale, offset, weights (as fit_case's), lower limit ("-": none),
#           upper limit ("-": none)
#   line 2: the lambdas (glmnet's own 20-value path down to 0.01 lambda_max)
#   then, for gamma = 0 and gamma = 0.5 in turn, one line per lambda: the intercept(s), then the coefficients row by
#   row (feature j's k targets together), of coef(fit, s = lambda, gamma = gamma).
relax_case <- function(name, file, family = "gaussian", alpha = 1, standardize = FALSE, lower = NULL, upper = NULL,
                       offset = FALSE, weights = FALSE) {
  d <- read_xy(file)
  n <- nrow(d$x)
  w <- if (weights) case_weights(n) else rep(1, n)
  sy <- if (alpha < 1) sqrt(sum(w * (d$y - weighted.mean(d$y, w))^2) / sum(w)) else 1
  d$y <- d$y / sy
  args <- list(x = d$x, y = d$y, family = family, alpha = alpha, standardize = standardize, thresh = 1e-15,
               maxit = 1e7, nlambda = 20, lambda.min.ratio = 0.01, relax = TRUE)
  if (weights) args$weights <- w
  if (!is.null(lower)) args$lower.limits <- lower
  if (!is.null(upper)) args$upper.limits <- upper
  if (offset)
    args$offset <- if (is.matrix(d$y)) outer(20 * sin(seq_len(n)), seq_len(ncol(d$y))) else 20 * sin(seq_len(n))
  fit <- do.call(glmnet, args)
  con <- file(file.path(dir, paste0("glmnet_terms_relax_", name, ".csv")), "w")
  writeLines(c(sprintf("%s,%.17g,%d,%.17g,%d,%d,%s,%s", file, alpha, as.integer(standardize), sy, as.integer(offset),
                       as.integer(weights), line(lower), line(upper)), line(fit$lambda)), con)
  for (gamma in c(0, 0.5))
    for (lam in fit$lambda) {
      cf <- coef(fit, s = lam, gamma = gamma)
      v <- if (is.list(cf)) { b <- sapply(cf, function(m) as.numeric(m)); c(b[1, ], t(b[-1, ])) } else as.numeric(cf)
      writeLines(line(v), con)
    }
  close(con)
  cat(sprintf("relax_%s: %d lambdas\n", name, length(fit$lambda)))
}
relax_case("lasso", "lasso_diabetes_raw.h5")
relax_case("bounds_std", "enet_breast.h5", standardize = TRUE, lower = -1, upper = 2)
relax_case("weights_offset", "lasso_diabetes_raw.h5", weights = TRUE, offset = TRUE)
relax_case("enet_weights", "enet_breast.h5", alpha = 0.5, weights = TRUE)
relax_case("l21", "l21_linnerud.h5", family = "mgaussian")

# cv with relaxed fits: cv.glmnet(relax = TRUE) on cv_gaussian.h5 with its foldid (no penalty factors, so cv.glmnet's
# own fold fits are glmnet's). glmnet_terms_cv_relax.csv: line 1: the gammas; line 2: lambda.min, gamma.min,
# lambda.1se, gamma.1se; then one line per gamma of cvm over the lambdas, one per gamma of cvsd; the lambdas; the
# intercept and coefficients at (lambda.min, gamma.min).
cv_relax_case <- function() {
  f <- H5File$new(file.path(dir, "cv_gaussian.h5"), mode = "r")
  x <- t(f[["X"]]$read()); y <- f[["y"]]$read(); foldid <- as.integer(f[["foldid"]]$read())
  f$close_all()
  full <- glmnet(x, y, standardize = FALSE, nlambda = 30, lambda.min.ratio = 0.01)
  cvf <- cv.glmnet(x, y, lambda = full$lambda, foldid = foldid, relax = TRUE, standardize = FALSE, thresh = 1e-15,
                   maxit = 1e7)
  r <- cvf$relaxed
  con <- file(file.path(dir, "glmnet_terms_cv_relax.csv"), "w")
  writeLines(c(line(r$gamma), line(c(r$lambda.min, r$gamma.min, r$lambda.1se, r$gamma.1se))), con)
  for (s in r$statlist) writeLines(line(s$cvm), con)
  for (s in r$statlist) writeLines(line(s$cvsd), con)
  writeLines(c(line(cvf$lambda), line(as.numeric(coef(cvf, s = "lambda.min", gamma = "gamma.min")))), con)
  close(con)
  cat(sprintf("cv_relax: lambda.min %.6g, gamma.min %g\n", r$lambda.min, r$gamma.min))
}
cv_relax_case()
