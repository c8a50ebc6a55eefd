// affine: y = X·W + b.
// x: (rows, cols) after flattening at base_axis, W: (cols, n_out...), b: (n_out...).
//
// Threads: each product is cut into as many independent blocks of its
// output as there are threads, and each thread runs Eigen's single-threaded
// product on its block. (Eigen's own OpenMP product makes its threads spin
// on each other while packing shared blocks: on a busy machine a preempted
// thread stalls the other for a whole time slice, 10-60x slower measured.
// Independent blocks only meet at the end of the parallel loop.)
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>
#include <algorithm>

#include "common.hpp"
#include "nnvae/kernels/matmul.hpp"
#include "nnvae/functions.hpp"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace nnvae {
namespace kernels {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Stride = Eigen::OuterStride<>;
using MapS = Eigen::Map<RowMatrix, 0, Stride>;
using MapCS = Eigen::Map<const RowMatrix, 0, Stride>;

namespace {

// C (+)= A·B on views, single-threaded.
template <class A, class B>
void product_into(MapS C, const A& a, const B& b, bool accumulate) {
  if (accumulate)
    C.noalias() += a * b;
  else
    C.noalias() = a * b;
}

// Products smaller than this many multiply-adds stay on one thread.
constexpr int64_t kParallelProduct = int64_t(1) << 20;

}  // namespace

// (matmul.hpp) The output is cut along its longer side into one block per
// thread, in multiples of 16 (one AVX-512 register of floats).
void matmul(const float* a, bool ta, const float* b, bool tb, float* c, int64_t m, int64_t k, int64_t n,
            bool accumulate) {
  const bool by_rows = m >= n;
  const int64_t extent = by_rows ? m : n;
  int parts = 1;
#ifdef _OPENMP
  if (m * n * k >= kParallelProduct && !omp_in_parallel())
    parts = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), std::max<int64_t>(extent / 16, 1)));
#endif
  const int64_t chunk = ((extent + parts - 1) / parts + 15) / 16 * 16;
  // Block `part`: rows [lo, hi) of C (by_rows) or its columns [lo, hi).
  auto block = [&](int part) {
    const int64_t lo = std::min(extent, part * chunk), hi = std::min(extent, lo + chunk);
    if (lo >= hi) return;
    const int64_t mb = by_rows ? hi - lo : m, nb = by_rows ? n : hi - lo;
    MapS C(c + (by_rows ? lo * n : lo), mb, nb, Stride(n));
    // The part of A feeding these rows (all of it when cutting columns), and
    // the part of B feeding these columns (all of it when cutting rows).
    const int64_t ra = by_rows ? lo : 0, cb = by_rows ? 0 : lo;
    if (!ta && !tb)
      product_into(C, MapCS(a + ra * k, mb, k, Stride(k)), MapCS(b + cb, k, nb, Stride(n)), accumulate);
    else if (!ta && tb)
      product_into(C, MapCS(a + ra * k, mb, k, Stride(k)), MapCS(b + cb * k, nb, k, Stride(k)).transpose(),
                   accumulate);
    else  // ta && !tb (affine never needs Aᵀ·Bᵀ)
      product_into(C, MapCS(a + ra, k, mb, Stride(m)).transpose(), MapCS(b + cb, k, nb, Stride(n)), accumulate);
  };
  if (parts == 1) {
    block(0);
    return;
  }
#pragma omp parallel for num_threads(parts) schedule(static, 1)
  for (int part = 0; part < parts; ++part) block(part);
}

// y (rows, n) = x (rows, k) · w (k, n) + b (n) [b may be null]
// Eigen's `Y = X·W` clears Y and then accumulates into it, so with a bias
// the rows start as b and the product is added: one pass over Y fewer.
void affine_forward(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t k,
                    int64_t n) {
  if (b)
    for (int64_t r = 0; r < rows; ++r) std::copy(b, b + n, y + r * n);
  matmul(x, false, w, false, y, rows, k, n, b != nullptr);
}

// db (n) (+)= Σ_rows dy (rows, n), row after row: contiguous, vectorised
// reads (Eigen's colwise().sum() on a row-major matrix walks columns).
void bias_backward(const float* dy, float* db, int64_t rows, int64_t n, bool accumulate) {
  if (!accumulate) std::fill(db, db + n, 0.f);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = dy + r * n;
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) db[j] += row[j];
  }
}

// dx (rows, k) (+)= dy (rows, n) · wᵀ; dw (k, n) (+)= xᵀ · dy; db (n) (+)= Σ_rows dy.
// dx and dw cost the same (2·rows·k·n FLOPs), so on 2 threads they run side
// by side, one whole product per thread (one parallel region instead of two,
// and no product cut); otherwise each is cut across the threads.
void affine_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db,
                     int64_t rows, int64_t k, int64_t n, bool acc_x, bool acc_w, bool acc_b) {
  auto grad_x = [&] { matmul(dy, false, w, true, dx, rows, n, k, acc_x); };
  auto grad_w = [&] { matmul(x, true, dy, false, dw, k, rows, n, acc_w); };
  bool side_by_side = false;
#ifdef _OPENMP
  side_by_side = dx && dw && omp_get_max_threads() == 2 && !omp_in_parallel() && rows * k * n >= kParallelProduct;
#endif
  if (side_by_side) {
#pragma omp parallel sections num_threads(2)
    {
#pragma omp section
      grad_x();
#pragma omp section
      grad_w();
    }
  } else {
    if (dx) grad_x();
    if (dw) grad_w();
  }
  if (db) bias_backward(dy, db, rows, n, acc_b);
}

}  // namespace kernels

namespace {
class Affine : public Function {
 public:
  explicit Affine(int base_axis) : base_axis_(base_axis) {}
  std::string name() const override { return "affine"; }

  Shape_t setup(const std::vector<Shape_t>& in) override {
    const Shape_t& x = in[0];
    const Shape_t& w = in[1];
    int nd = static_cast<int>(x.size());
    if (base_axis_ < 0 || base_axis_ >= std::max(nd, 1) || (nd == 0))
      detail::shape_error("affine: base_axis " + std::to_string(base_axis_) + " is out of range for input shape " +
                          shape_str(x) + " (must be in [0, " + std::to_string(std::max(nd - 1, 0)) + "])");
    if (w.size() < 2)
      detail::shape_error("affine: W must have at least 2 dimensions, got W shape " + shape_str(w));
    rows_ = 1;
    for (int i = 0; i < base_axis_; ++i) rows_ *= x[i];
    cols_ = 1;
    for (int i = base_axis_; i < nd; ++i) cols_ *= x[i];
    if (cols_ != w[0])
      detail::shape_error("affine: input has " + std::to_string(cols_) + " features but W expects " +
                          std::to_string(w[0]) + " (input shape " + shape_str(x) + ", base_axis " +
                          std::to_string(base_axis_) + ", W shape " + shape_str(w) + ")");
    Shape_t out(x.begin(), x.begin() + base_axis_);
    out.insert(out.end(), w.begin() + 1, w.end());
    n_out_ = shape_size(Shape_t(w.begin() + 1, w.end()));
    if (in.size() == 3) {
      Shape_t wb(w.begin() + 1, w.end());
      // The shape itself, not just the size: a (2, 2) bias for a (3, 4) W
      // has the right size but the wrong meaning.
      if (in[2] != wb)
        detail::shape_error("affine: b has shape " + shape_str(in[2]) + " but W shape " + shape_str(w) +
                            " needs " + shape_str(wb));
    }
    return out;
  }

  void forward(const std::vector<Variable*>& in, Variable* out) override {
    const float* b = in.size() == 3 ? detail::in_data(in[2]) : nullptr;
    kernels::affine_forward(detail::in_data(in[0]), detail::in_data(in[1]), b, detail::out_data(out), rows_, cols_,
                            n_out_);
  }

  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    const float* dy = detail::in_grad(out);
    bool has_b = in.size() == 3;
    // Input 0's gradient first, then W's, then b's, as the contract asks.
    float* dx = prop[0] ? detail::in_grad_for(in[0], acc[0]) : nullptr;
    float* dw = prop[1] ? detail::in_grad_for(in[1], acc[1]) : nullptr;
    float* db = has_b && prop[2] ? detail::in_grad_for(in[2], acc[2]) : nullptr;
    kernels::affine_backward(prop[1] ? detail::in_data(in[0]) : nullptr, prop[0] ? detail::in_data(in[1]) : nullptr,
                             dy, dx, dw, db, rows_, cols_, n_out_, prop[0] && acc[0], prop[1] && acc[1],
                             has_b && prop[2] && acc[2]);
  }
  bool backward_needs_input_data(int i) const override { return i < 2; }

 private:
  int base_axis_;
  int64_t rows_ = 0, cols_ = 0, n_out_ = 0;
};
}  // namespace

CgVariablePtr functions::affine(CgVariablePtr x, CgVariablePtr weight, CgVariablePtr bias, int base_axis) {
  std::vector<CgVariablePtr> inputs{std::move(x), std::move(weight)};
  if (bias) inputs.push_back(std::move(bias));
  return connect(std::make_unique<Affine>(base_axis), std::move(inputs));
}

}  // namespace nnvae
