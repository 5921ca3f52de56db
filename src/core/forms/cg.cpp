// The cg form (sparse X too wide for a Gram): the CSR rows kept as stored (src/core/forms/held_rows.hpp; float32
// stays float32), centred implicitly, and conjugate gradients on the local normal equations.
#include <cmath>
#include <cstring>

#include "core/forms/held_rows.hpp"

namespace cadmm {

namespace {

// (X - 1 mu^T)^T R u with R = diag(root) (empty: I): one sparse product and a rank-one correction, so the centring
// never densifies X.
Matrix centred_transpose_times(const CsrRows& x, const Vector& mu, const Vector& root, const Matrix& u) {
  const Matrix ru = root.size() > 0 ? Matrix(root.asDiagonal() * u) : Matrix();
  const Matrix& v = root.size() > 0 ? ru : u;
  Matrix out = x.transpose_times(v);
  out.noalias() -= mu * v.colwise().sum();
  return out;
}

// A = R (X - 1 mu^T) S / sqrt(n), b = R Y_c / sqrt(n), R = diag(sqrt(w)) with row weights (else I). Products with A
// and A^T cost one sparse product each plus a rank-one correction, so a sparse X is never densified by the centring.
class CgSolver final : public LocalSolver {
 public:
  static constexpr int kMaxIterations = 1000;  // per column and x-update; the warm start keeps it far below
  CgSolver(CsrRows x, Vector mean, Vector scale, Vector root_weights, Matrix y, double n)
      : CgSolver(std::move(x), std::move(mean), std::move(scale), std::move(root_weights),
                 Matrix(y * (1.0 / std::sqrt(n))), Scaled{1.0 / std::sqrt(n)}) {}

 private:
  struct Scaled {
    double f;  // b is y / sqrt(n) already: f = 1 / sqrt(n)
  };
  CgSolver(CsrRows x, Vector mean, Vector scale, Vector root_weights, Matrix b, Scaled scaled)
      : x_(std::move(x)), mu_(std::move(mean)), s_(std::move(scale)), r_(std::move(root_weights)), b_(std::move(b)),
        f_(scaled.f), q_(at_times(b_)) {}

 public:

  void solve(const Matrix& rhs, double rho, Matrix& x, double tol) const override {
    if (x.rows() != rhs.rows() || x.cols() != rhs.cols()) x = Matrix::Zero(rhs.rows(), rhs.cols());
    // Each column is an independent SPD system (A^T A + rho I) x = rhs; CG from the previous x.
    for (Eigen::Index t = 0; t < rhs.cols(); ++t) {
      Vector xt = x.col(t);
      Vector r = rhs.col(t) - apply(xt, rho);
      const double stop = tol * rhs.col(t).norm();
      Vector p = r, ap(xt.size());
      double rr = r.squaredNorm();
      for (int it = 0; it < kMaxIterations && std::sqrt(rr) > stop; ++it) {
        ap = apply(p, rho);
        const double pap = p.dot(ap);
        if (!(pap > 0)) break;  // converged to rounding (or no search direction left)
        const double alpha = rr / pap;
        xt += alpha * p;
        r -= alpha * ap;
        const double rr_next = r.squaredNorm();
        p = r + (rr_next / rr) * p;
        rr = rr_next;
      }
      x.col(t) = xt;
    }
  }
  bool iterative() const override { return true; }

  LocalFit fit_at(const Matrix& z) const override {
    const Matrix& r = residual_at(z);
    if (!memo_.has_fit) {
      memo_.fit.grad = at_times(r);
      memo_.fit.rss = r.squaredNorm();
      memo_.fit.ry = (r.array() * b_.array()).sum();
      memo_.has_fit = true;
    }
    return memo_.fit;
  }

  Matrix hessian_block(const std::vector<Eigen::Index>& features) const override {
    // A_S^T A_S = S (X_S^T W X_S - t mu^T - mu t^T + m mu mu^T) S / n, t = X_S^T w, m = 1^T w (W = R^2; unweighted
    // w = 1), accumulated row by row.
    const Eigen::Index m = static_cast<Eigen::Index>(features.size());
    std::vector<Eigen::Index> pos(static_cast<std::size_t>(x_.cols()), -1);
    for (Eigen::Index i = 0; i < m; ++i) pos[static_cast<std::size_t>(features[static_cast<std::size_t>(i)])] = i;
    Matrix h = Matrix::Zero(m, m);
    Vector t = Vector::Zero(m), mu(m), sc(m);
    for (Eigen::Index i = 0; i < m; ++i) {
      mu[i] = mu_[features[static_cast<std::size_t>(i)]];
      sc[i] = s_[features[static_cast<std::size_t>(i)]];
    }
    std::vector<std::pair<Eigen::Index, double>> row;
    for (Eigen::Index r = 0; r < x_.rows(); ++r) {
      row.clear();
      x_.for_each_in_row(r, [&](std::int64_t c, double v) {
        if (pos[static_cast<std::size_t>(c)] >= 0) row.emplace_back(pos[static_cast<std::size_t>(c)], v);
      });
      const double w = r_.size() > 0 ? r_[r] * r_[r] : 1.0;
      for (const auto& [a, va] : row) {
        const double wa = w * va;
        t[a] += wa;
        for (const auto& [b, vb] : row) h(a, b) += wa * vb;
      }
    }
    const double rows = r_.size() > 0 ? r_.squaredNorm() : static_cast<double>(x_.rows());
    h.noalias() -= t * mu.transpose() + mu * t.transpose();
    h.noalias() += rows * mu * mu.transpose();
    return sc.asDiagonal() * h * sc.asDiagonal() * (f_ * f_);
  }

  const Matrix& q() const override { return q_; }
  double b_squares() const override { return b_.squaredNorm(); }
  std::int64_t rows() const override { return x_.rows(); }

  bool sparse_columns(const std::vector<Eigen::Index>& features, LocalColumns& out) const override {
    // A_j = f s_j (R x_j - mu_j R 1): a_j = f s_j R x_j, offset f s_j mu_j, v = R 1. Two passes over the rows:
    // count each asked column's entries, then place them (rows ascending within a column).
    const std::size_t m = features.size();
    out = LocalColumns{};
    if (m == 0) return true;  // the question whether this form gives columns: no pass
    std::vector<std::int64_t> pos(static_cast<std::size_t>(x_.cols()), -1);
    out.offset.resize(static_cast<Eigen::Index>(m));
    for (std::size_t c = 0; c < m; ++c) {
      const Eigen::Index j = features[c];
      pos[static_cast<std::size_t>(j)] = static_cast<std::int64_t>(c);
      out.offset[static_cast<Eigen::Index>(c)] = f_ * s_[j] * mu_[j];
    }
    out.start.assign(m + 1, 0);
    for (Eigen::Index r = 0; r < x_.rows(); ++r)
      x_.for_each_in_row(r, [&](std::int64_t c, double) {
        if (const std::int64_t p = pos[static_cast<std::size_t>(c)]; p >= 0) ++out.start[static_cast<std::size_t>(p) + 1];
      });
    for (std::size_t c = 0; c < m; ++c) out.start[c + 1] += out.start[c];
    out.row.resize(static_cast<std::size_t>(out.start[m]));
    out.value.resize(out.row.size());
    std::vector<std::int64_t> next(out.start.begin(), out.start.end() - 1);
    for (Eigen::Index r = 0; r < x_.rows(); ++r) {
      const double w = r_.size() > 0 ? r_[r] : 1.0;
      x_.for_each_in_row(r, [&](std::int64_t c, double v) {
        const std::int64_t p = pos[static_cast<std::size_t>(c)];
        if (p < 0) return;
        const std::size_t at = static_cast<std::size_t>(next[static_cast<std::size_t>(p)]++);
        out.row[at] = r;
        out.value[at] = f_ * s_[c] * w * v;
      });
    }
    return true;
  }
  // The cg form's sum is its rows: every rank's, in rank order, with their weights and targets, gathered into root's
  // (one rank can then fit the whole problem alone; cv fits folds side by side so where the plan says they fit).
  std::unique_ptr<LocalSolver> summed_to(int root, Communicator& comm) && override { return gather(root, comm); }
  std::unique_ptr<LocalSolver> gathered(Communicator& comm) const override { return gather(-1, comm); }
  Vector centring_direction() const override { return r_.size() > 0 ? r_ : Vector::Ones(x_.rows()); }
  Matrix residual(const Matrix& z) const override { return residual_at(z); }

 private:
  // Every rank's rows into root's (root < 0: into every rank's).
  std::unique_ptr<CgSolver> gather(int root, Communicator& comm) const {
    std::vector<std::vector<double>> send(static_cast<std::size_t>(comm.size())), recv;
    std::vector<double> out;
    x_.pack(out);
    out.push_back(r_.size() > 0 ? 1.0 : 0.0);
    out.insert(out.end(), r_.data(), r_.data() + r_.size());
    const RowMatrix b = b_;  // rows in order, whatever k
    out.insert(out.end(), b.data(), b.data() + b.size());
    const Eigen::Index cols = x_.cols(), k = b_.cols();
    const bool single = x_.single();
    for (int r = 0; r < comm.size(); ++r)
      if (root < 0 || r == root) send[static_cast<std::size_t>(r)] = out;
    out = std::vector<double>();
    comm.exchange(send, recv);
    send.clear();
    if (root >= 0 && comm.rank() != root) return nullptr;
    CsrRows x(cols, single);
    std::vector<const double*> weights, targets;
    std::vector<Eigen::Index> counts;
    bool weighted = false;
    for (const std::vector<double>& in : recv) {
      const double* at = in.data();
      const Eigen::Index before = x.rows();
      x.append_packed(at);
      counts.push_back(x.rows() - before);
      weighted = weighted || at[0] > 0;
      weights.push_back(at[0] > 0 ? at + 1 : nullptr);
      targets.push_back(at + 1 + (at[0] > 0 ? counts.back() : 0));
    }
    Vector r = weighted ? Vector(x.rows()) : Vector();
    RowMatrix all(x.rows(), k);
    for (std::size_t s = 0, row = 0; s < recv.size(); row += static_cast<std::size_t>(counts[s]), ++s) {
      const Eigen::Index first = static_cast<Eigen::Index>(row), m = counts[s];
      if (weighted && m > 0) r.segment(first, m) = Eigen::Map<const Vector>(weights[s], m);
      all.middleRows(first, m) = Eigen::Map<const RowMatrix>(targets[s], m, k);
    }
    recv.clear();
    return std::unique_ptr<CgSolver>(new CgSolver(std::move(x), mu_, s_, std::move(r), Matrix(all), Scaled{f_}));
  }

  // The residual b - A z at the last point asked for, and its statistics once asked: a path's coordinate descent
  // starts each lambda from the residual at the last lambda's answer, where that lambda was certified (and, outside a
  // path or in one that checkpoints, checked again or taken from the rows), so one product with the rows serves them.
  // Keyed by z's bits: what it returns is what the product gives.
  struct Memo {
    Matrix z, r;
    LocalFit fit;
    bool has_fit = false;
  };
  const Matrix& residual_at(const Matrix& z) const {
    const bool same = memo_.z.rows() == z.rows() && memo_.z.cols() == z.cols() &&
                      std::memcmp(memo_.z.data(), z.data(), sizeof(double) * static_cast<std::size_t>(z.size())) == 0;
    if (!same) {
      memo_.r = b_ - a_times(z);
      memo_.z = z;
      memo_.has_fit = false;
    }
    return memo_.r;
  }

  Matrix a_times(const Matrix& v) const {
    const Matrix sv = s_.asDiagonal() * v;
    Matrix out = x_.times(sv);
    out.rowwise() -= (mu_.transpose() * sv);
    if (r_.size() > 0) out = r_.asDiagonal() * out;
    return out * f_;
  }
  Matrix at_times(const Matrix& w) const { return s_.asDiagonal() * centred_transpose_times(x_, mu_, r_, w) * f_; }
  Vector apply(const Vector& v, double rho) const { return at_times(a_times(v)) + rho * v; }

  CsrRows x_;
  Vector mu_, s_, r_;  // r_: square roots of the rows' weights, empty when unweighted
  Matrix b_;
  double f_;
  Matrix q_;  // after f_: it is computed from b_ and f_ in the constructor
  mutable Memo memo_;
};

// CSR rows and y's rows; the centre is applied implicitly (a centred sparse matrix would be dense).
class CsrSums final : public HeldRows {
 public:
  CsrSums(Eigen::Index d, Eigen::Index k, bool single) : HeldRows(d, k, LocalForm::cg), csr_(d, single) {
    y_rows_.resize(0, k);
  }
  std::unique_ptr<Accumulator> clone() const override { return std::unique_ptr<Accumulator>(new CsrSums(*this)); }
  std::unique_ptr<Accumulator> empty_like() const override {
    return std::make_unique<CsrSums>(d_, k_, csr_.single());
  }
  Vector sums() const override {
    Vector s(d_ + k_);
    s.tail(k_) = column_sums(y_rows_);
    s.head(d_) = csr_.column_sums(weights());
    return s;
  }
  Vector squares_about(const Vector& center) const override { return csr_.squares_about(center, weight_, weights()); }
  Vector squared_errors(const Matrix& coef, const Vector& intercept) const override {
    return squared_errors_from(Matrix(-csr_.times(coef)), intercept);
  }
  void reserve(std::int64_t rows) override {
    if (rows > y_rows_.rows()) y_rows_.conservativeResize(rows, k_);
  }
  void center(const Vector& x_mean, const Vector& y_mean) override {
    center_y(y_mean);
    mean_ = x_mean;
    root_w_ = root_weights();
  }
  Matrix xty() const override {
    // (X - 1 mu^T)^T R b, b = R Y_c the kept y rows (R = I unweighted): Y_c is centred globally, not on this rank's rows.
    return centred_transpose_times(csr_, mean_, root_w_, y_rows_);
  }
  Vector column_squares() const override { return squares_about(mean_); }
  std::unique_ptr<LocalSolver> factor(const Vector& column_scale, double n) override {
    return make_cg_solver(std::move(csr_), std::move(mean_), column_scale, std::move(root_w_), std::move(y_rows_), n);
  }

 private:
  CsrSums(const CsrSums&) = default;
  void add_dense(RowMatrix& x, const RowMatrix& y, const double* w) override {
    append_y(y, w);
    csr_.append(x);
  }
  void add_sparse(const SparseRows& x, const RowMatrix& y, const double* w) override {
    append_y(y, w);
    csr_.append(x);
  }
  // The rows' weights for the column moments (null when unweighted).
  const double* weights() const { return weighted_ ? w_rows_.data() : nullptr; }
  void add_piece(const Accumulator& other) override {
    const auto& o = static_cast<const CsrSums&>(other);
    const RowMatrix oy = o.y_rows_.topRows(o.rows_);
    append_y(oy, o.weights());
    csr_.append(o.csr_);
  }

  CsrRows csr_;
  Vector mean_;    // centred: the centre, applied implicitly
  Vector root_w_;  // centred: the square roots of the rows' weights (empty: unweighted)
};

}  // namespace

std::unique_ptr<Accumulator> make_cg_rows(Eigen::Index d, Eigen::Index k, bool single) {
  return std::make_unique<CsrSums>(d, k, single);
}

std::unique_ptr<LocalSolver> make_cg_solver(CsrRows x, Vector mean, Vector scale, Vector root_weights, Matrix y_centered,
                                            double n) {
  return std::make_unique<CgSolver>(std::move(x), std::move(mean), std::move(scale), std::move(root_weights),
                                    std::move(y_centered), n);
}

}  // namespace cadmm
