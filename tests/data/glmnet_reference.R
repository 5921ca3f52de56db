# Reference solutions from glmnet (R), independent of scikit-learn and of cadmm.
#   Rscript tests/data/glmnet_reference.R tests/data/fixtures
# reads the data of some scikit-learn fixtures and writes glmnet_<case>.csv next to them:
#   line 1: lambda, lambda_max (glmnet's first path value), fit_intercept, standardize, source fixture
#   line 2: intercept(s); following lines: one row of coefficients per feature.
# make_fixtures.py --glmnet DIR turns each CSV into a fixture glmnet_<case>.h5.
suppressPackageStartupMessages({ library(glmnet); library(hdf5r) })
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) > 0) args[1] else "tests/data/fixtures"

read_xy <- function(file) {
  f <- H5File$new(file.path(dir, file), mode = "r")
  # h5py writes C order; hdf5r returns the dimensions reversed, so transpose back.
  x <- t(f[["X"]]$read())
  y <- f[["y"]]$read()
  if (is.matrix(y)) y <- t(y)
  f$close_all()
  list(x = x, y = y)
}

fit_case <- function(name, file, family, ratio, standardize, intercept) {
  d <- read_xy(file)
  ctl <- list(thresh = 1e-14, maxit = 1e7)
  path <- glmnet(d$x, d$y, family = family, standardize = standardize, intercept = intercept,
                 thresh = ctl$thresh, maxit = ctl$maxit)
  lmax <- path$lambda[1]
  lam <- ratio * lmax
  fit <- glmnet(d$x, d$y, family = family, lambda = c(lmax, lam), standardize = standardize,
                intercept = intercept, thresh = ctl$thresh, maxit = ctl$maxit)
  cf <- coef(fit, s = lam, exact = FALSE)
  if (is.list(cf)) {  # mgaussian: one sparse column per target
    b <- sapply(cf, function(m) as.numeric(m[, ncol(m)]))
  } else {
    b <- matrix(as.numeric(cf[, ncol(cf)]), ncol = 1)
  }
  out <- file.path(dir, paste0("glmnet_", name, ".csv"))
  con <- file(out, "w")
  writeLines(sprintf("%.17g,%.17g,%d,%d,%s", lam, lmax, as.integer(intercept), as.integer(standardize), file), con)
  write.table(b, con, sep = ",", row.names = FALSE, col.names = FALSE)  # row 1: intercepts
  close(con)
  cat(sprintf("%s: lambda %.6g (%.3g x lambda_max %.6g)\n", name, lam, ratio, lmax))
}

fit_case("lasso_diabetes_raw", "lasso_diabetes_raw.h5", "gaussian", 0.02, FALSE, TRUE)
fit_case("lasso_breast_std", "enet_breast.h5", "gaussian", 0.05, TRUE, TRUE)
fit_case("lasso_std_no_intercept", "enet_std_no_intercept.h5", "gaussian", 0.1, TRUE, FALSE)
fit_case("l21_linnerud", "l21_linnerud.h5", "mgaussian", 0.2, FALSE, TRUE)
fit_case("l21_synth_std", "mtenet_synth.h5", "mgaussian", 0.05, TRUE, TRUE)
