// Coordinate descent over features spread across the ranks (src/core/solve/coordinate.hpp).
//
// With A_j = a_j - m_j v (a_j sparse, v the rows' centring direction) the residual r = b - A z is held as
// r~ + v o^T: r~ = b - sum_j a_j z_j changes only on a_j's rows when z_j moves, and o = sum_j m_j z_j. Feature j's
// gradient is A_j^T r = a_j^T r (over a_j's rows) - m_j v^T r, with v^T r kept up to date by A_j^T v.
#include "core/solve/coordinate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "core/solve/anderson.hpp"
#include "core/solve/polish.hpp"

namespace cadmm {

namespace {

using Index = Eigen::Index;

// Sweeps per call, over every round: as many as ADMM may take iterations (--max-iter), and at least kMinSweeps; beyond,
// ADMM takes over. A sweep costs about a pass over the set's columns, and an ADMM iteration of the cg form at least two
// over every column. A wide problem whose support nears n (3,000 x 6,000, 1% dense, to 1e-3 lambda_max) needs up to
// 12,000 sweeps a lambda, a tenth of the time of the ADMM that a fixed 1,000 handed it to.
constexpr int kMinSweeps = 1000;
constexpr int kMaxRounds = 20;    // strong-set growths and tightenings
constexpr int kAndersonMemory = 5;  // sweeps between extrapolations
constexpr int kSweepsBeforePolish = 30;  // a round's sweeps where the pattern is small enough to polish
// Lambdas a path's held residual serves (each starting and certified from it) before it is taken from the rows again.
// Its rounding grows with the updates (on S1 about 1e-14 of its size after ten late lambdas): far below any gap that
// certifies.
constexpr int kHeldLambdas = 10;

int owner(Index j, int ranks) { return static_cast<int>(j % ranks); }

// Every rank holds the n x k residual, in int32 rows: within kMaxCoordinateResidual.
bool residual_fits(const OwnedColumns& c, Index k) {
  return c.n * k <= kMaxCoordinateResidual && c.n < std::numeric_limits<std::int32_t>::max();
}

// Brings the columns of `features` (sorted, the same on every rank) to their owners: each rank sends its rows' entries
// of every feature to the feature's owner, which keeps them in global row order (a repeated index summed).
void fetch(OwnedColumns& c, const LocalSolver& local, const std::vector<Index>& features, Communicator& comm) {
  const int ranks = comm.size(), me = comm.rank();
  LocalColumns mine;
  if (!local.sparse_columns(features, mine))  // AdmmProblem::columns promised them
    throw std::logic_error("coordinate descent: a rank's term gives no columns");
  std::vector<std::vector<double>> send(static_cast<std::size_t>(ranks)), recv;
  for (std::size_t i = 0; i < features.size(); ++i) {
    std::vector<double>& out = send[static_cast<std::size_t>(owner(features[i], ranks))];
    const std::size_t b = static_cast<std::size_t>(mine.start[i]), e = static_cast<std::size_t>(mine.start[i + 1]);
    out.push_back(static_cast<double>(e - b));
    for (std::size_t x = b; x < e; ++x) out.push_back(static_cast<double>(mine.row[x] + c.first_row));
    out.insert(out.end(), mine.value.begin() + static_cast<std::ptrdiff_t>(b), mine.value.begin() + static_cast<std::ptrdiff_t>(e));
  }
  const Vector offset = mine.offset;
  mine = LocalColumns{};  // its entries travel in `send` now
  comm.exchange(send, recv);
  send.clear();
  std::size_t incoming = 0;  // entries (and one count per feature) coming to this rank: reserved, not doubled into
  for (const std::vector<double>& in : recv) incoming += in.size() / 2;
  c.row.reserve(c.row.size() + incoming);
  c.value.reserve(c.value.size() + incoming);
  std::vector<std::size_t> at(static_cast<std::size_t>(ranks), 0);
  for (std::size_t i = 0; i < features.size(); ++i) {
    const Index j = features[i];
    if (owner(j, ranks) != me) continue;
    c.slot[static_cast<std::size_t>(j)] = static_cast<std::int64_t>(c.feature.size());
    c.feature.push_back(j);
    const std::size_t begin = c.row.size();
    for (int s = 0; s < ranks; ++s) {
      const std::vector<double>& in = recv[static_cast<std::size_t>(s)];
      std::size_t& pos = at[static_cast<std::size_t>(s)];
      const std::size_t count = static_cast<std::size_t>(in[pos++]);
      for (std::size_t x = 0; x < count; ++x) {
        const auto r = static_cast<std::int32_t>(in[pos + x]);
        const double value = in[pos + count + x];
        if (c.row.size() > begin && c.row.back() == r)
          c.value.back() += value;
        else
          c.row.push_back(r), c.value.push_back(value);
      }
      pos += 2 * count;
    }
    c.start.push_back(static_cast<std::int64_t>(c.row.size()));
    // ||a_j - m v||^2 over a_j's rows, plus m^2 v^T v over the others; A_j^T v = a_j^T v - m v^T v.
    const double m = offset[static_cast<Index>(i)];
    double av = 0, on_rows = 0, vv_rows = 0;
    for (std::size_t x = begin; x < c.row.size(); ++x) {
      const double vi = c.v[c.row[x]];
      av += c.value[x] * vi;
      on_rows += (c.value[x] - m * vi) * (c.value[x] - m * vi);
      vv_rows += vi * vi;
    }
    c.offset.push_back(m);
    c.av.push_back(av);
    c.cv.push_back(av - m * c.vv);
    c.h.push_back(on_rows + m * m * std::max(0.0, c.vv - vv_rows));
  }
}

// Rows counted over the ranks, this rank's place among them, and (when the residual may be held: fits) v over every
// row and every column on its owner: one pass over the rows, however many of the columns a path will use (the plan
// counts them all).
void gather(OwnedColumns& c, const LocalSolver& local, Index d, Index k, Communicator& comm) {
  const int ranks = comm.size(), me = comm.rank();
  Vector rows = Vector::Zero(ranks);
  rows[me] = static_cast<double>(local.rows());
  comm.sum(rows.data(), static_cast<std::size_t>(ranks));
  c.n = static_cast<std::int64_t>(rows.sum());
  c.first_row = static_cast<std::int64_t>(rows.head(me).sum());
  c.ready = true;
  if (!residual_fits(c, k)) return;
  c.v = Vector::Zero(c.n);
  c.v.segment(c.first_row, local.rows()) = local.centring_direction();
  comm.sum(c.v.data(), static_cast<std::size_t>(c.n));
  c.vv = c.v.squaredNorm();
  c.slot.assign(static_cast<std::size_t>(d), -1);
  std::vector<Index> all(static_cast<std::size_t>(d));
  for (Index j = 0; j < d; ++j) all[static_cast<std::size_t>(j)] = j;
  fetch(c, local, all, comm);
}

bool same_point(const Matrix& a, const Matrix& b) { return a.rows() == b.rows() && a.cols() == b.cols() && a == b; }

// The hot loops are compiled for each k up to kFixedTargets (fixed-size vectors; with one target, plain scalars) and
// for any k (K = Dynamic): the loops over the targets of an entry then unroll, and a sweep over k targets costs far
// less than k sweeps over one (its column entries and residual rows read once).
constexpr int kFixedTargets = 8;

template <int K>
using Row = Eigen::Matrix<double, K, 1>;

template <int K>
constexpr Index width(Index k) {
  return K == Eigen::Dynamic ? k : K;
}

// f(std::integral_constant<int, K>) with K = k where k <= kFixedTargets, else K = Dynamic.
template <int K = 1, typename F>
void with_targets(Index k, F&& f) {
  if constexpr (K > kFixedTargets) {
    f(std::integral_constant<int, Eigen::Dynamic>{});
  } else {
    if (k == K) f(std::integral_constant<int, K>{});
    else with_targets<K + 1>(k, std::forward<F>(f));
  }
}

template <int K>
Row<K> row_of(Index k) {
  if constexpr (K == Eigen::Dynamic) return Row<K>(k);
  else return Row<K>();
}

// Feature j's part of the penalty at the row w (bounds hold: every point visited is feasible).
template <int K = Eigen::Dynamic>
double penalty_of_row(const PenaltySpec& pen, Index j, const double* w, Index k) {
  double l1 = 0, sq = 0;
  for (Index t = 0; t < (K == Eigen::Dynamic ? k : K); ++t) l1 += std::abs(w[t]), sq += w[t] * w[t];
  if (pen.grouped) l1 = std::sqrt(sq);
  return pen.l1_weight * pen.weight(j) * l1 + 0.5 * pen.ridge_times(j, pen.l2_weight) * sq;
}

// The state every rank holds alike: z, and the residual r = r~ + v o^T with v^T r.
using Shared = HeldResidual;

class Descent {
 public:
  Descent(const AdmmProblem& problem, OwnedColumns& c, Communicator& comm, const AdmmObserver& observer)
      : pen_(problem.penalty), local_(*problem.local), c_(c), comm_(comm), observer_(observer), ranks_(comm.size()),
        k_(problem.local->q().cols()) {}

  // r~, o and v^T r at s.z: each rank's residual rows summed into place (o's owned parts too), then r~ = r - v o^T.
  void start(Shared& s) {
    const Index n = static_cast<Index>(c_.n);
    Vector buf = Vector::Zero(n * k_ + k_);
    const Matrix r = local_.residual(s.z);
    for (Index i = 0; i < r.rows(); ++i)
      for (Index t = 0; t < k_; ++t) buf[(c_.first_row + i) * k_ + t] = r(i, t);
    for (std::size_t q = 0; q < c_.feature.size(); ++q)
      for (Index t = 0; t < k_; ++t) buf[n * k_ + t] += c_.offset[q] * s.z(c_.feature[q], t);
    comm_.sum(buf.data(), static_cast<std::size_t>(buf.size()));
    s.o = buf.tail(k_);
    s.rt = Eigen::Map<RowMatrix>(buf.data(), n, k_);
    s.vr = Vector::Zero(k_);
    for (Index i = 0; i < n; ++i)
      for (Index t = 0; t < k_; ++t) {
        const double ri = s.rt(i, t);
        s.rt(i, t) = ri - c_.v[i] * s.o[t];
        s.vr[t] += c_.v[i] * ri;
      }
  }

  // Owned feature q's gradient row A_j^T r = a_j^T r~ + (a_j^T v) o - m_j v^T r at the residual (rt, o, vr): one read
  // of r~ per entry.
  template <int K = Eigen::Dynamic, typename G>
  void gradient(std::size_t q, const double* rt, const Vector& o, const Vector& vr, G& g) const {
    const std::size_t b = static_cast<std::size_t>(c_.start[q]), e = static_cast<std::size_t>(c_.start[q + 1]);
    const std::int32_t* row = c_.row.data();
    const double* value = c_.value.data();
    if (width<K>(k_) == 1) {  // four sums, so the additions do not wait on each other
      double acc[4] = {0, 0, 0, 0};
      std::size_t x = b;
      for (; x + 4 <= e; x += 4)
        for (int l = 0; l < 4; ++l) acc[l] += value[x + l] * rt[row[x + l]];
      for (; x < e; ++x) acc[0] += value[x] * rt[row[x]];
      g[0] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    } else {
      const Index k = width<K>(k_);
      g.setZero();
      for (std::size_t x = b; x < e; ++x) {
        const double* r = rt + static_cast<Index>(row[x]) * k;
        for (Index t = 0; t < k; ++t) g[t] += value[x] * r[t];
      }
    }
    if constexpr (K == 1) g[0] += c_.av[q] * o[0] - c_.offset[q] * vr[0];
    else g += c_.av[q] * o - c_.offset[q] * vr;
  }

  // The features outside the set (in[j] == 0) whose gradient at the held residual violates their bound join it
  // (each rank checks its own, the verdicts summed): the KKT check without a pass over the rows. Returns whether any
  // joined.
  bool add_violators(const Shared& s, std::vector<char>& in) {
    const Index d = static_cast<Index>(in.size());
    Vector joins = Vector::Zero(d);
    with_targets(k_, [&](auto targets) {
      constexpr int K = decltype(targets)::value;
      Row<K> g = row_of<K>(k_);
      for (std::size_t q = 0; q < c_.feature.size(); ++q) {
        const Index j = c_.feature[q];
        if (in[static_cast<std::size_t>(j)]) continue;
        gradient<K>(q, s.rt.data(), s.o, s.vr, g);
        if (pen_.push_row(g.transpose(), j) > pen_.l1_weight * pen_.weight(j)) joins[j] = 1;
      }
    });
    comm_.sum(joins.data(), static_cast<std::size_t>(d));
    bool any = false;
    for (Index j = 0; j < d; ++j)
      if (joins[j] > 0) in[static_cast<std::size_t>(j)] = 1, any = true;
    return any;
  }

  // The point's optimality from the held residual, without a pass over the rows: each rank's features' gradient rows
  // (summed into grad, d x k), ||R||^2 from R = r~ + v o^T, and <R, b> = ||R||^2 + <z, A^T R>. The held residual has
  // drifted by rounding over the sweeps: a certificate from it is confirmed from the rows (evaluate).
  Optimality optimality(const Shared& s, Matrix& grad) {
    grad.setZero(s.z.rows(), k_);
    with_targets(k_, [&](auto targets) {
      constexpr int K = decltype(targets)::value;
      Row<K> g = row_of<K>(k_);
      for (std::size_t q = 0; q < c_.feature.size(); ++q) {
        gradient<K>(q, s.rt.data(), s.o, s.vr, g);
        grad.row(c_.feature[q]) = g.transpose();
      }
    });
    comm_.sum(grad.data(), static_cast<std::size_t>(grad.size()));
    const double rss = residual_squares(s);
    return optimality_at(pen_, s.z, grad, rss, rss + (s.z.array() * grad.array()).sum());
  }

  // ||R||^2 of the held residual R = r~ + v o^T (every rank holds all of it: nothing to sum).
  double residual_squares(const Shared& s) const {
    double rss = 0;
    for (Index i = 0; i < s.rt.rows(); ++i)
      for (Index t = 0; t < k_; ++t) rss += std::pow(s.rt(i, t) + c_.v[i] * s.o[t], 2);
    return rss;
  }

  // One sweep of every rank over its slots, the moves summed and taken whole or averaged (the better); returns the
  // sum over the ranks of h_j ||dz_j||^2. set_pos: each feature's place among the set's (the moves' layout).
  double sweep(Shared& s, const std::vector<std::int64_t>& slots, const std::vector<std::int64_t>& set_pos, Index set_size) {
    const Index n = static_cast<Index>(c_.n);
    // The sums: r~'s change (n k), the set's moves (|set| k), o's and v^T r's changes (2 k), then the moves' size,
    // the penalty's change taken whole and averaged, and the ranks asking to stop (a signal). One rank alone moves
    // the held residual in place and takes its whole step: nothing to sum, and r~'s part is left unused.
    const bool alone = ranks_ == 1;
    const Index tail = n * k_ + set_size * k_;
    buf_.resize(tail + 2 * k_ + 4);
    buf_.segment(alone ? n * k_ : 0, alone ? buf_.size() - n * k_ : buf_.size()).setZero();
    buf_[tail + 2 * k_ + 3] = observer_.stop_requested && observer_.stop_requested() ? 1.0 : 0.0;
    if (!alone) local_rt_ = s.rt, o_ = s.o, vr_ = s.vr;
    RowMatrix& rt = alone ? s.rt : local_rt_;
    Vector& o = alone ? s.o : o_;
    Vector& vr = alone ? s.vr : vr_;
    with_targets(k_, [&](auto targets) { visit<decltype(targets)::value>(s, slots, set_pos, tail, rt.data(), o, vr); });
    double step = 1;
    if (!alone) {
      for (Index i = 0; i < n; ++i)
        for (Index t = 0; t < k_; ++t) buf_[i * k_ + t] = local_rt_(i, t) - s.rt(i, t);
      buf_.segment(tail, k_) = o - s.o;
      buf_.segment(tail + k_, k_) = vr - s.vr;
      comm_.sum(buf_.data(), static_cast<std::size_t>(buf_.size()));
      // F(step) - F(0) = step <R, D> + step^2 / 2 ||D||^2 + the penalty's change: compare the whole step with the
      // average.
      const auto [rd, dd] = change_products(s, tail);
      // On [0, 1] the penalty lies below its chord (it is convex), so U(t) = t (<R, D> + the whole step's penalty
      // change) + t^2 / 2 ||D||^2 bounds F(t) - F(0) from above: U's minimizer on [1/P, 1] is taken where U there
      // is below the average's exact value, which is itself below F(0).
      const double shrink = 1.0 / ranks_;
      const double slope = rd + buf_[tail + 2 * k_ + 1];
      const double best = dd > 0 ? std::clamp(-slope / dd, shrink, 1.0) : 1.0;
      const double bound = best * slope + 0.5 * best * best * dd;
      const double averaged = shrink * rd + 0.5 * shrink * shrink * dd + buf_[tail + 2 * k_ + 2];
      step = bound <= averaged ? best : shrink;
      apply_change(s, tail, step);
    }
    stopped_ = stopped_ || buf_[tail + 2 * k_ + 3] > 0;
    for (std::size_t p = 0; p < set_.size(); ++p)
      for (Index t = 0; t < k_; ++t) s.z(set_[p], t) += step * buf_[n * k_ + static_cast<Index>(p) * k_ + t];
    return buf_[tail + 2 * k_];
  }

  // The sweep's visits of its slots, moving the residual (rt, o and v^T r) and adding the moves and the penalty's
  // changes into buf_ (its layout: sweep). z stays as it was until the sweep's end: each feature is visited once a
  // sweep, so its own value is the one read.
  template <int K>
  void visit(const Shared& s, const std::vector<std::int64_t>& slots, const std::vector<std::int64_t>& set_pos,
             Index tail, double* const rt, Vector& o, Vector& vr) {
    const Index n = static_cast<Index>(c_.n);
    Row<K> g = row_of<K>(k_), w = row_of<K>(k_), dz = row_of<K>(k_), before = row_of<K>(k_), half = row_of<K>(k_);
    const double shrink = 1.0 / ranks_;
    for (std::int64_t q : slots) {
      const std::size_t qs = static_cast<std::size_t>(q);
      const double h = c_.h[qs];
      const Index j = c_.feature[qs];
      // A column without curvature (all zero after centring) moves nothing: its coefficient's best value is 0.
      if (!(h > 0) && s.z.row(j).isZero(0)) continue;
      const double m = c_.offset[qs];
      const std::size_t b = static_cast<std::size_t>(c_.start[qs]), e = static_cast<std::size_t>(c_.start[qs + 1]);
      const std::int32_t* row = c_.row.data();
      const double* value = c_.value.data();
      gradient<K>(qs, rt, o, vr, g);
      before = s.z.row(j).transpose();
      const double ridge = pen_.ridge_times(j, pen_.l2_weight), l1 = pen_.l1_weight * pen_.weight(j);
      w = h * before + g;
      if (!(h > 0)) {
        w.setZero();
      } else if (pen_.grouped) {
        const double norm = w.norm();
        w *= norm > l1 ? (1 - l1 / norm) / (h + ridge) : 0.0;
      } else {
        const double lo = pen_.lower_bound(j), hi = pen_.upper_bound(j);
        for (Index t = 0; t < width<K>(k_); ++t) {
          const double u = w[t];
          w[t] = std::clamp((u > l1 ? u - l1 : u < -l1 ? u + l1 : 0.0) / (h + ridge), lo, hi);
        }
      }
      dz = w - before;
      if (dz.isZero(0)) continue;
      if constexpr (K == 1) {
        const double step = dz[0];
        for (std::size_t x = b; x < e; ++x) rt[row[x]] -= value[x] * step;
      } else {
        const Index k = width<K>(k_);
        for (std::size_t x = b; x < e; ++x) {
          double* r = rt + static_cast<Index>(row[x]) * k;
          for (Index t = 0; t < k; ++t) r[t] -= value[x] * dz[t];
        }
      }
      for (Index t = 0; t < width<K>(k_); ++t) o[t] += m * dz[t], vr[t] -= c_.cv[qs] * dz[t];
      if (ranks_ > 1) {  // the penalty's changes choose the summed step (one rank alone takes its whole step)
        half = before + shrink * dz;
        const double at_before = penalty_of_row<K>(pen_, j, before.data(), k_);
        buf_[tail + 2 * k_ + 1] += penalty_of_row<K>(pen_, j, w.data(), k_) - at_before;
        buf_[tail + 2 * k_ + 2] += penalty_of_row<K>(pen_, j, half.data(), k_) - at_before;
      }
      buf_[tail + 2 * k_] += h * dz.squaredNorm();
      for (Index t = 0; t < width<K>(k_); ++t) buf_[n * k_ + set_pos[static_cast<std::size_t>(j)] * k_ + t] = dz[t];
    }
  }

  // From a summed change in buf_ (r~'s over the n k first entries, o's and v^T r's at tail and tail + k): <R, D>
  // and ||D||^2, with R = r~ + v o^T the residual and D = r~' + v o'^T its change.
  std::pair<double, double> change_products(const Shared& s, Index tail) const {
    double rd = 0, dd = 0;
    for (Index i = 0; i < static_cast<Index>(c_.n); ++i)
      for (Index t = 0; t < k_; ++t) {
        const double d = buf_[i * k_ + t] + c_.v[i] * buf_[tail + t];
        rd += (s.rt(i, t) + c_.v[i] * s.o[t]) * d;
        dd += d * d;
      }
    return {rd, dd};
  }

  // The residual moved by step times that change.
  void apply_change(Shared& s, Index tail, double step) const {
    for (Index i = 0; i < static_cast<Index>(c_.n); ++i)
      for (Index t = 0; t < k_; ++t) s.rt(i, t) += step * buf_[i * k_ + t];
    s.o += step * buf_.segment(tail, k_);
    s.vr += step * buf_.segment(tail + k_, k_);
  }

  bool stopped_ = false;  // some rank asked to stop during a sweep (the same on every rank)

  // The set's rows of z, one after the other (the vector Anderson extrapolates).
  void flatten(const Matrix& z, Vector& out) const {
    for (std::size_t p = 0; p < set_.size(); ++p)
      for (Index t = 0; t < k_; ++t) out[static_cast<Index>(p) * k_ + t] = z(set_[p], t);
  }

  // Moves to the point whose set rows are `next` (the bounds enforced), if that lowers the objective: each rank's
  // residual change over its own features, summed. Returns true when taken.
  bool try_point(Shared& s, const Vector& next, const std::vector<std::int64_t>& slots,
                 const std::vector<std::int64_t>& set_pos) {
    const Index n = static_cast<Index>(c_.n), tail = n * k_;
    Matrix to(static_cast<Index>(set_.size()), k_);
    // The penalty's change summed feature by feature: near the optimum the two totals' difference is below their
    // rounding, which decided acceptance at random (on S1 a third of the extrapolations were refused).
    double pen_change = 0;
    Vector now(k_), then(k_);
    for (std::size_t p = 0; p < set_.size(); ++p) {
      const Index j = set_[p];
      for (Index t = 0; t < k_; ++t) {
        const double v = next[static_cast<Index>(p) * k_ + t];
        to(static_cast<Index>(p), t) = pen_.grouped ? v : std::clamp(v, pen_.lower_bound(j), pen_.upper_bound(j));
      }
      now = s.z.row(j).transpose();
      then = to.row(static_cast<Index>(p)).transpose();
      pen_change += penalty_of_row(pen_, j, then.data(), k_) - penalty_of_row(pen_, j, now.data(), k_);
    }
    buf_.setZero(tail + 2 * k_);
    for (std::int64_t q : slots) {
      const std::size_t qs = static_cast<std::size_t>(q);
      const Index j = c_.feature[qs];
      const Index p = set_pos[static_cast<std::size_t>(j)];
      for (Index t = 0; t < k_; ++t) {
        const double dz = to(p, t) - s.z(j, t);
        if (dz == 0) continue;
        for (std::int64_t x = c_.start[qs]; x < c_.start[qs + 1]; ++x)
          buf_[c_.row[static_cast<std::size_t>(x)] * k_ + t] -= c_.value[static_cast<std::size_t>(x)] * dz;
        buf_[tail + t] += c_.offset[qs] * dz;
        buf_[tail + k_ + t] -= c_.cv[qs] * dz;
      }
    }
    comm_.sum(buf_.data(), static_cast<std::size_t>(buf_.size()));
    const auto [rd, dd] = change_products(s, tail);
    if (!(rd + 0.5 * dd + pen_change < 0)) return false;
    apply_change(s, tail, 1.0);
    for (std::size_t p = 0; p < set_.size(); ++p) s.z.row(set_[p]) = to.row(static_cast<Index>(p));
    return true;
  }

  std::vector<Index> set_;  // the strong set, in feature order (the moves' layout)

 private:
  const PenaltySpec& pen_;
  const LocalSolver& local_;
  OwnedColumns& c_;
  Communicator& comm_;
  const AdmmObserver& observer_;
  const int ranks_;
  const Index k_;
  RowMatrix local_rt_;  // with several ranks: this rank's sweep moves a copy of the residual
  Vector o_, vr_;
  Vector buf_;
};

}  // namespace

std::optional<Polished> coordinate_descent(const AdmmProblem& problem, const Matrix& z, const Matrix& grad0,
                                           const SolverSettings& settings, Communicator& comm, OwnedColumns* kept,
                                           const AdmmObserver& observer, bool* stopped) {
  const PenaltySpec& pen = problem.penalty;
  if (!problem.columns || !pen.members.empty() || !(pen.l1_weight > 0) || !problem.previous_l1_weight)
    return std::nullopt;
  const Index d = z.rows(), k = z.cols();
  OwnedColumns scratch;
  OwnedColumns& c = kept ? *kept : scratch;
  if (!c.ready) gather(c, *problem.local, d, k, comm);
  if (!residual_fits(c, k)) return std::nullopt;

  // The strong set: z's support, the features the sequential strong rule admits and the unpenalized ones.
  const double bound = std::max(0.0, 2 * pen.l1_weight - *problem.previous_l1_weight);
  std::vector<char> in(static_cast<std::size_t>(d), 0);
  for (Index j = 0; j < d; ++j) {
    const double p = pen.push(grad0, j);
    in[static_cast<std::size_t>(j)] = !z.row(j).isZero(0) || pen.weight(j) <= 0 || (p > 0 && p >= bound * pen.weight(j));
  }
  Descent descent(problem, c, comm, observer);
  Shared s;
  s.z = z;
  // Along a path the secant through the last two answers predicts this lambda's far closer than the last answer does
  // (on S1 the objective's error at the start falls 30-fold): z moved by t (z - prior), on z's support and keeping its
  // signs, taken in the first round where it lowers the objective. Kept columns only (a path's; one that checkpoints
  // sets the prior from its recorded answers, PolishMemory::restart, so that its resume repeats it bit for bit).
  Matrix secant;
  const double previous = *problem.previous_l1_weight;
  if (kept && kept->prior.rows() == d && kept->prior.cols() == k && kept->prior_l1 > previous && previous > pen.l1_weight) {
    const double t = (previous - pen.l1_weight) / (kept->prior_l1 - previous);
    secant = z + t * (z - kept->prior);
    for (Index j = 0; j < d; ++j)
      for (Index u = 0; u < k; ++u)
        if (!(secant(j, u) * z(j, u) > 0)) secant(j, u) = 0;
  }
  if (kept) {
    kept->prior = z;
    kept->prior_l1 = previous;
  }
  int sweeps = 0;
  double tol = 0, first_move = -1;
  // Until the set holds every feature that the point the sweeps settle at calls in, they settle only loosely: halfway
  // (in orders of magnitude) from the first sweep's move to the tolerance. A KKT check of the held residual then
  // says whether features join; only a set without joiners is swept to the tolerance and certified.
  bool settled = false;
  const auto level = [&] { return settled || first_move <= 0 ? tol : std::max(tol, std::sqrt(tol * first_move)); };
  const int limit = std::max(kMinSweeps, settings.max_iter);
  Matrix grad;
  for (int round = 0; round < kMaxRounds && sweeps < limit; ++round) {
    std::vector<Index>& set = descent.set_;
    set.clear();
    std::vector<std::int64_t> set_pos(static_cast<std::size_t>(d), -1);
    for (Index j = 0; j < d; ++j) {
      if (!in[static_cast<std::size_t>(j)]) continue;
      set_pos[static_cast<std::size_t>(j)] = static_cast<std::int64_t>(set.size());
      set.push_back(j);
    }
    if (round == 0) {  // later rounds: the features that join are at zero, so the residual stands
      // A path's last answer left its residual held: this lambda starts from it (no pass over the rows), up to
      // kHeldLambdas lambdas from the last one that took it from the rows.
      if (kept && kept->held_lambdas < kHeldLambdas && same_point(kept->held.z, s.z)) {
        std::swap(s.rt, kept->held.rt);
        s.o = kept->held.o;
        s.vr = kept->held.vr;
        ++kept->held_lambdas;
      } else {
        descent.start(s);
        if (kept) kept->held_lambdas = 0;
      }
      // Sweeps stop once they move the objective by a tenth of what the gap may be; a round that is not certified
      // then tightens it by what its gap says.
      tol = 0.1 * settings.gap_tol * std::max(0.5 * descent.residual_squares(s) + pen.value(s.z), 1e-300);
    }
    std::vector<std::int64_t> mine, active;
    for (Index j : set)
      if (const std::int64_t q = c.slot[static_cast<std::size_t>(j)]; q >= 0) mine.push_back(q);
    const Index size = static_cast<Index>(set.size());
    if (round == 0 && secant.size() > 0) {
      Vector next(size * k);
      descent.flatten(secant, next);
      descent.try_point(s, next, mine, set_pos);
    }
    // A pattern small enough to polish gets a few sweeps only, to find its signs: polishing then solves it exactly,
    // which on a correlated design is far cheaper than the sweeps that would creep up on it.
    Index largest = 0;
    for (Index t = 0; t < k; ++t) largest = std::max<Index>(largest, (s.z.col(t).array() != 0).count());
    const bool polishable = settings.polish && largest <= problem.max_polish;
    const int budget = std::min(limit, polishable ? sweeps + kSweepsBeforePolish : limit);
    // glmnet's schedule: a sweep over the whole set, then sweeps over the nonzero features until they settle, until
    // a sweep over the whole set moves nothing that matters.
    while (sweeps < budget && !descent.stopped_) {
      ++sweeps;
      const double moved = descent.sweep(s, mine, set_pos, size);
      if (first_move < 0) first_move = moved;
      if (moved <= level()) break;
      active.clear();
      for (std::int64_t q : mine)
        if (!s.z.row(c.feature[static_cast<std::size_t>(q)]).isZero(0)) active.push_back(q);
      // Anderson extrapolation of the sweeps over the nonzero features (Bertrand and Massias 2021): once their signs
      // settle a sweep is an affine map, whose fixed point a few past sweeps predict far beyond where the next one
      // goes; the prediction is taken only where it lowers the objective.
      AndersonHistory history;
      Anderson anderson(history, kAndersonMemory, size * k);
      Vector before(size * k), after(size * k), next, products(anderson.products_size());
      for (int since = 0; sweeps < budget && !descent.stopped_;) {
        descent.flatten(s.z, before);
        const double moved = descent.sweep(s, active, set_pos, size);
        ++sweeps;
        descent.flatten(s.z, after);
        if (moved <= level()) break;
        anderson.record(before, after);
        if (++since < kAndersonMemory) continue;
        anderson.local_products(products.data());  // the whole vector is on every rank: nothing to reduce
        if (anderson.extrapolate(products.data(), next)) descent.try_point(s, next, mine, set_pos);
        anderson.reset();
        since = 0;
      }
    }
    if (descent.stopped_) {
      if (stopped) *stopped = true;
      return std::nullopt;
    }
    if (!settled) {
      settled = !descent.add_violators(s, in);
      continue;
    }
    // The certificate, from the held residual. A path keeps it (and the point's gradient, which certified_start and
    // the next lambda's strong rule read) for the next lambda (a path that checkpoints drops them before it: its resume
    // starts from the rows, PolishMemory::restart); outside a path the certificate is confirmed from the rows.
    Optimality o = descent.optimality(s, grad);
    if (settings.certified(o.gap, o.objective)) {
      if (!kept) {
        o = evaluate(problem, s.z, comm, &grad);
        if (settings.certified(o.gap, o.objective)) return Polished{s.z, o, sweeps};
        descent.start(s);  // the held residual has drifted from the rows': held again from them
      } else {
        const double rss = descent.residual_squares(s);  // a kept path's columns live in its polish memory
        problem.polish_memory->last = PolishMemory::Evaluated{s.z, grad, rss, rss + (s.z.array() * grad.array()).sum()};
        kept->held = std::move(s);
        return Polished{kept->held.z, o, sweeps};
      }
    }
    if (polishable)
      if (std::optional<Polished> p = polish(problem, sign_pattern(pen, s.z), s.z, settings, comm)) {
        p->sweeps = sweeps;
        return p;
      }
    // The features outside the set that violate their bound join it; none: the set is right, sweep closer.
    bool grew = false;
    for (Index j = 0; j < d; ++j)
      if (!in[static_cast<std::size_t>(j)] && pen.push(grad, j) > pen.l1_weight * pen.weight(j))
        in[static_cast<std::size_t>(j)] = 1, grew = true;
    // The gap falls with the square root of the sweeps' last move (a first-order KKT residual against a
    // second-order move): aim the next tolerance at a third of the gap allowed.
    const double allowed = settings.gap_tol * std::abs(o.objective);
    if (!grew) tol *= std::clamp(std::pow(allowed / (3 * o.gap), 2), 1e-12, 0.01);
  }
  return std::nullopt;
}

bool descend_from(const AdmmProblem& problem, Matrix& z, const Matrix& grad, const SolverSettings& settings,
                  Communicator& comm, const AdmmObserver& observer, AdmmResult& res, bool* stopped) {
  std::optional<Polished> c = coordinate_descent(problem, z, grad, settings, comm,
                                                 problem.polish_memory ? &problem.polish_memory->columns : nullptr,
                                                 observer, stopped);
  if (!c) return false;
  z = std::move(c->w);
  res.optimality = c->optimality;
  res.sweeps = c->sweeps;
  res.polished = res.descended = true;
  return true;
}

}  // namespace cadmm
