// The matrix product kernels (kernels::matmul, affine_forward,
// affine_backward) against a double-precision reference: every form affine
// uses (A·B, A·Bᵀ, Aᵀ·B), writing and adding, the bias, the epilogue's
// coverage (each element once, after its final value, with its own
// coordinates), edge sizes (1, 7, 15, 17, 33 ... not multiples of the
// kernel's tiles, k longer than one slice, n wider than one column block),
// on both kernels (the engine's own and Eigen's) and on 1 and 2 threads;
// and the same in bf16 precision, against the reference of the operands
// rounded to bf16 (the sums stay fp32, so the bound stays fp32's).
#include <algorithm>
#include <cmath>
#include <nnvae/nnvae.hpp>
#include <nnvae/kernels/matmul.hpp>
#include <string>
#include <vector>

#include "check.hpp"

using namespace nnvae;
namespace k = nnvae::kernels;

namespace {

// A product's operands as matmul takes them, with random values.
struct Case {
  int64_t m, kk, n;
  bool ta, tb;
  std::vector<float> a, b;
  bool bf16 = false;  // the reference rounds the operands to bf16
  Case(int64_t m_, int64_t k_, int64_t n_, bool ta_, bool tb_, uint32_t seed) : m(m_), kk(k_), n(n_), ta(ta_), tb(tb_) {
    Generator g(seed);
    a.resize(size_t(m * kk));
    b.resize(size_t(kk * n));
    for (auto& v : a) v = g.uniform() * 2 - 1;
    for (auto& v : b) v = g.uniform() * 2 - 1;
  }
  float at(int64_t i, int64_t l) const { return ta ? a[size_t(l * m + i)] : a[size_t(i * kk + l)]; }
  float bt(int64_t l, int64_t j) const { return tb ? b[size_t(j * kk + l)] : b[size_t(l * n + j)]; }
  // C's reference value (i, j) = start + Σ_l op(A)(i, l)·op(B)(l, j) in
  // double, and the rounding bound for a float sum of k products: k units
  // of float rounding on Σ |terms| (plus the start).
  // (The sums are computed once per case, on first use, and shared by the
  // kernels, thread counts and accumulate modes checked against them.)
  void reference(int64_t i, int64_t j, double start, double& value, double& bound) const {
    if (sums.empty()) {
      sums.resize(size_t(m * n)), abs_sums.resize(size_t(m * n));
      auto op = [this](float x) { return bf16 ? round_to_bf16(x) : x; };
      for (int64_t r = 0; r < m; ++r)
        for (int64_t c = 0; c < n; ++c) {
          double s = 0, abs = 0;
          for (int64_t l = 0; l < kk; ++l) {
            const double t = double(op(at(r, l))) * op(bt(l, c));
            s += t;
            abs += std::fabs(t);
          }
          sums[size_t(r * n + c)] = s, abs_sums[size_t(r * n + c)] = abs;
        }
    }
    const size_t e = size_t(i * n + j);
    value = start + sums[e];
    bound = 2.0 * double(kk + 1) * 6e-8 * (std::fabs(start) + abs_sums[e]) + 1e-30;
  }
  mutable std::vector<double> sums, abs_sums;
};

// Counts the epilogue's visits of each element and records the value each
// element had when visited (which must be its final value).
struct Recorder : k::Epilogue {
  int64_t m, n;
  mutable std::vector<int> visits;
  mutable std::vector<float> seen;
  mutable bool bad_block = false;
  Recorder(int64_t m_, int64_t n_) : m(m_), n(n_), visits(size_t(m * n), 0), seen(size_t(m * n), 0.f) {}
  void operator()(float* c, int64_t ldc, int64_t r0, int64_t r1, int64_t c0, int64_t c1) const override {
    if (ldc != n || r0 < 0 || r1 > m || c0 < 0 || c1 > n || r0 > r1 || c0 > c1) bad_block = true;
    for (int64_t i = r0; i < r1; ++i)
      for (int64_t j = c0; j < c1; ++j) {
        ++visits[size_t(i * n + j)];
        seen[size_t(i * n + j)] = c[i * ldc + j];
      }
  }
};

struct Kernel {
  const char* name;
  k::ProductKernel kernel;
};
std::vector<Kernel> kernels_to_test() {
  std::vector<Kernel> ks = {{"eigen", k::ProductKernel::kEigen}};
  if (k::native_product_kernel_available()) ks.push_back({"native", k::ProductKernel::kNative});
  return ks;
}

// Checks C against start + op(A)·op(B) (start: `init` when adding, else the
// bias or 0), and the epilogue's record.
void check_product(const Case& cs, const std::vector<float>& c, const std::vector<float>& init, bool accumulate,
                   const float* bias, const Recorder* rec, const std::string& what) {
  for (int64_t i = 0; i < cs.m; ++i)
    for (int64_t j = 0; j < cs.n; ++j) {
      const size_t e = size_t(i * cs.n + j);
      const double start = accumulate ? init[e] : bias ? bias[j] : 0.0;
      double ref, bound;
      cs.reference(i, j, start, ref, bound);
      if (!(std::fabs(c[e] - ref) <= bound))
        FAIL_AT(what << ": C(" << i << ", " << j << ") = " << c[e] << ", reference " << ref << " (bound " << bound
                     << ")");
      if (rec) {
        if (rec->visits[e] != 1) FAIL_AT(what << ": epilogue visited C(" << i << ", " << j << ") " << rec->visits[e] << " times");
        if (rec->seen[e] != c[e]) FAIL_AT(what << ": epilogue saw C(" << i << ", " << j << ") = " << rec->seen[e] << " before its final " << c[e]);
      }
    }
  if (rec && rec->bad_block) FAIL_AT(what << ": epilogue given a block outside C or the wrong row stride");
}

std::string describe(const char* kernel, int threads, const Case& cs, bool accumulate) {
  std::ostringstream os;
  os << kernel << ", " << threads << " thread(s), " << (cs.ta ? "At" : "A") << "·" << (cs.tb ? "Bt" : "B") << " (m "
     << cs.m << ", k " << cs.kk << ", n " << cs.n << ")" << (accumulate ? " accumulate" : "");
  return os.str();
}

// Every form, writing and adding, with and without an epilogue, on every
// kernel and 1 and 2 threads.
void check_shapes(const std::vector<int64_t>& ms, const std::vector<int64_t>& ks, const std::vector<int64_t>& ns,
                  MatmulPrecision precision = MatmulPrecision::fp32) {
  MatmulPrecisionScope scope(precision);
  uint32_t seed = 1;
  for (int64_t m : ms)
    for (int64_t kk : ks)
      for (int64_t n : ns)
        for (int form = 0; form < 3; ++form) {
          Case cs(m, kk, n, form == 2, form == 1, seed++);
          cs.bf16 = precision == MatmulPrecision::bf16;
          std::vector<float> init(size_t(m * n));
          Generator g(seed);
          for (auto& v : init) v = g.uniform() * 2 - 1;
          for (const Kernel& kn : kernels_to_test()) {
            k::set_product_kernel(kn.kernel);
            for (int threads : {1, 2}) {
              set_num_threads(threads);
              for (bool accumulate : {false, true}) {
                std::vector<float> c = init;
                Recorder rec(m, n);
                const bool with_ep = (m + n + kk + form) % 2 == 0 || m * n < 5000;
                k::matmul(cs.a.data(), cs.ta, cs.b.data(), cs.tb, c.data(), m, kk, n, accumulate,
                          with_ep ? &rec : nullptr);
                check_product(cs, c, init, accumulate, nullptr, with_ep ? &rec : nullptr,
                              describe(kn.name, threads, cs, accumulate) + " " + matmul_precision_name(precision));
              }
            }
          }
        }
  k::set_product_kernel(k::ProductKernel::kNative);
  set_num_threads(1);
}

}  // namespace

TEST(small_and_odd_sizes_in_every_form) {
  check_shapes({1, 7, 15, 17, 33}, {0, 1, 7, 17, 33, 129}, {1, 7, 15, 17, 33});
}

TEST(sizes_past_the_tiles_and_slices) {
  // m past several row panels, k past one slice of k, n past one block of
  // columns; products big enough to be cut across 2 threads.
  check_shapes({100, 129}, {100, 800}, {129, 700});
}

TEST(the_step_shapes_at_batch_10) {
  // X·W, dY·Wᵀ and Xᵀ·dY of the first layer at batch 10 (784 pixels, 500 units).
  check_shapes({10}, {784}, {500});
  check_shapes({784}, {10}, {500});
}

TEST(bf16_products_equal_fp32_sums_of_the_rounded_operands) {
  check_shapes({1, 7, 15, 17, 33}, {0, 1, 7, 17, 129}, {1, 7, 17, 33}, MatmulPrecision::bf16);
  check_shapes({100}, {800}, {129, 700}, MatmulPrecision::bf16);
  check_shapes({10}, {784}, {500}, MatmulPrecision::bf16);
  check_shapes({784}, {10}, {500}, MatmulPrecision::bf16);
}

const MatmulPrecision kPrecisions[] = {MatmulPrecision::fp32, MatmulPrecision::bf16};

TEST(affine_forward_starts_from_the_bias_and_finishes_with_the_epilogue) {
  for (const Kernel& kn : kernels_to_test()) {
    k::set_product_kernel(kn.kernel);
    for (int threads : {1, 2})
      for (int64_t rows : {1, 17, 300})
      for (MatmulPrecision precision : kPrecisions) {
        MatmulPrecisionScope scope(precision);
        set_num_threads(threads);
        const int64_t kk = 129, n = 257;
        Case cs(rows, kk, n, false, false, uint32_t(rows + threads));
        cs.bf16 = precision == MatmulPrecision::bf16;
        std::vector<float> bias(static_cast<size_t>(n));
        for (int64_t j = 0; j < n; ++j) bias[size_t(j)] = 0.01f * float(j) - 1.0f;
        std::vector<float> y(size_t(rows * n), 1e30f);  // overwritten, never read
        Recorder rec(rows, n);
        k::affine_forward(cs.a.data(), cs.b.data(), bias.data(), y.data(), rows, kk, n, &rec);
        check_product(cs, y, y, false, bias.data(), &rec,
                      std::string("affine_forward, ") + kn.name + ", " + matmul_precision_name(precision));
        // Without a bias: y = x·w.
        std::fill(y.begin(), y.end(), 1e30f);
        k::affine_forward(cs.a.data(), cs.b.data(), nullptr, y.data(), rows, kk, n);
        check_product(cs, y, y, false, nullptr, nullptr, std::string("affine_forward without bias, ") + kn.name);
      }
  }
  k::set_product_kernel(k::ProductKernel::kNative);
  set_num_threads(1);
}

TEST(affine_backward_dx_epilogue_and_dw_db) {
  const int64_t rows = 150, kk = 70, n = 90;
  Generator g(9);
  std::vector<float> x(size_t(rows * kk)), w(size_t(kk * n)), dy(size_t(rows * n));
  for (auto* v : {&x, &w, &dy})
    for (auto& e : *v) e = g.uniform() * 2 - 1;
  for (const Kernel& kn : kernels_to_test()) {
    k::set_product_kernel(kn.kernel);
    for (int threads : {1, 2})
      for (bool acc : {false, true})
      for (MatmulPrecision precision : kPrecisions) {
        MatmulPrecisionScope scope(precision);
        const bool bf16 = precision == MatmulPrecision::bf16;
        set_num_threads(threads);
        std::vector<float> dx(size_t(rows * kk), 0.5f), dw(size_t(kk * n), -0.25f), db(size_t(n), 2.0f);
        const auto dx0 = dx, dw0 = dw;
        Recorder rec(rows, kk);
        k::affine_backward(x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), rows, kk, n, acc, acc, acc,
                           &rec);
        const std::string what =
            std::string("affine_backward, ") + kn.name + (acc ? ", accumulate, " : ", ") + matmul_precision_name(precision);
        // dx = dy · wᵀ (w stored (k, n): the transposed operand of dy (rows, n)).
        Case cdx(rows, n, kk, false, true, 0);
        cdx.a = dy, cdx.b = w, cdx.bf16 = bf16;
        check_product(cdx, dx, dx0, acc, nullptr, &rec, what + " dx");
        // dw = xᵀ · dy.
        Case cdw(kk, rows, n, true, false, 0);
        cdw.a = x, cdw.b = dy, cdw.bf16 = bf16;
        check_product(cdw, dw, dw0, acc, nullptr, nullptr, what + " dw");
        for (int64_t j = 0; j < n; ++j) {
          double s = acc ? 2.0 : 0.0;
          for (int64_t r = 0; r < rows; ++r) s += dy[size_t(r * n + j)];
          CHECK_NEAR(db[size_t(j)], s, 1e-5);
        }
      }
  }
  k::set_product_kernel(k::ProductKernel::kNative);
  set_num_threads(1);
}

NNVAE_TEST_MAIN()
