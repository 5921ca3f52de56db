# cv.glmnet references for `cadmm cv`, independent of cadmm:
#   /usr/bin/python3 tests/data/make_fixtures.py --cv tests/data/fixtures   (writes cv_*.h5: X, y, foldid, lambdas)
#   Rscript tests/data/glmnet_cv_reference.R tests/data/fixtures           (writes glmnet_cv_*.csv)
# Each CSV: line 1 "lambda_min,lambda_1se"; then one line per lambda "lambda,cvm,cvsd" (glmnet's own values, with
# the given foldid and lambda sequence, standardize = FALSE, intercept = TRUE, thresh = 1e-14).
suppressPackageStartupMessages({ library(glmnet); library(hdf5r) })
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) > 0) args[1] else "tests/data/fixtures"

run_case <- function(name, family) {
  f <- H5File$new(file.path(dir, paste0(name, ".h5")), mode = "r")
  x <- t(f[["X"]]$read())  # hdf5r reverses the dimensions of C-order data
  y <- f[["y"]]$read()
  if (is.matrix(y)) y <- t(y)
  foldid <- as.integer(f[["foldid"]]$read())
  lambdas <- f[["lambdas"]]$read()
  f$close_all()
  cv <- cv.glmnet(x, y, family = family, lambda = lambdas, foldid = foldid, standardize = FALSE,
                  intercept = TRUE, thresh = 1e-14, maxit = 1e7)
  out <- file.path(dir, paste0("glmnet_", name, ".csv"))
  con <- file(out, "w")
  writeLines(sprintf("%.17g,%.17g", cv$lambda.min, cv$lambda.1se), con)
  writeLines(sprintf("%.17g,%.17g,%.17g", cv$lambda, cv$cvm, cv$cvsd), con)
  close(con)
  cat(sprintf("%s: lambda.min %.6g, lambda.1se %.6g\n", name, cv$lambda.min, cv$lambda.1se))
}

run_case("cv_gaussian", "gaussian")
run_case("cv_mgaussian", "mgaussian")
