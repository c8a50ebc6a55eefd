// Fusion (graph.cpp): elu (and relu) run as the epilogue of the affine that computes its
// input (forward) and of the affine whose product writes its output's
// gradient last (backward). Fused and unfused runs of the same graph give the
// same values and gradients (within float rounding: a gradient with several
// writers may be summed in another order), on 1 and 2 threads, with
// accumulation, need_grad false, a second reader of an affine's output,
// clear_buffer and auto-forward; and a fused chain passes the
// finite-difference check.
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <nnvae/nnvae.hpp>
#include <nnvae/vae.hpp>

#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace f = nnvae::functions;

namespace {

// Runs `body` with fusion set to `on`, restoring the default after.
template <class Body>
void with_fusion(bool on, Body&& body) {
  set_fusion(on);
  try {
    body();
  } catch (...) {
    set_fusion(true);
    throw;
  }
  set_fusion(true);
}

// The values and gradients of named variables after one step.
using Snapshot = std::map<std::string, std::vector<float>>;
using Named = std::vector<std::pair<std::string, CgVariablePtr>>;

// forward, then backward seeded with fixed weights, on a graph whose leaf
// gradients start at zero; every named variable's data and grad (where it
// has one) recorded.
Snapshot step(const CgVariablePtr& root, const Named& vars, const std::vector<CgVariablePtr>& leaves,
              int backwards = 1) {
  for (auto& l : leaves) l->variable()->grad()->zero();
  root->forward();
  auto r = random_leaf(root->shape(), -1.f, 1.f, 99, false);
  for (int i = 0; i < backwards; ++i) root->backward(r->variable()->data());
  Snapshot s;
  for (auto& [name, v] : vars) {
    s[name + ".d"] = data_of(v);
    if (v->need_grad()) s[name + ".g"] = grad_of(v);
  }
  return s;
}

void check_same(const Snapshot& fused, const Snapshot& plain, double tol = 1e-6) {
  CHECK_EQ(fused.size(), plain.size());
  for (auto& [name, want] : plain) {
    auto it = fused.find(name);
    if (it == fused.end()) FAIL_AT("fused run has no " << name);
    const auto& got = it->second;
    CHECK_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      if (!(std::fabs(double(got[i]) - double(want[i])) <= tol * std::fmax(1.0, std::fabs(double(want[i])))))
        FAIL_AT(name << "[" << i << "]: fused " << got[i] << ", unfused " << want[i]);
  }
}

// How many calls profiling counted under `name` (forward, backward).
std::pair<int64_t, int64_t> calls(const std::string& name) {
  for (auto& e : profiling::report())
    if (e.name == name) return {e.forward_calls, e.backward_calls};
  return {0, 0};
}

// Fused and unfused runs of the graph agree; returns the fused run's
// profile of "affine+elu" calls.
std::pair<int64_t, int64_t> compare(const CgVariablePtr& root, const Named& vars,
                                    const std::vector<CgVariablePtr>& leaves, int backwards = 1) {
  Snapshot plain, fused;
  with_fusion(false, [&] { plain = step(root, vars, leaves, backwards); });
  profiling::reset();
  profiling::set_enabled(true);
  fused = step(root, vars, leaves, backwards);
  profiling::set_enabled(false);
  auto counted = calls("affine+elu");
  profiling::reset();
  check_same(fused, plain);
  return counted;
}

// An affine → elu chain x (rows, 96) → 160 → 128 → 40, sized so that the
// products run on several threads (over 2^20 multiply-adds).
struct Chain {
  CgVariablePtr x, w1, b1, w2, b2, w3, b3, y1, z1, y2, z2, out;
  Named named() const {
    return {{"x", x}, {"w1", w1}, {"b1", b1}, {"w2", w2}, {"b2", b2}, {"w3", w3}, {"b3", b3},
            {"y1", y1}, {"z1", z1}, {"y2", y2}, {"z2", z2}, {"out", out}};
  }
  std::vector<CgVariablePtr> leaves() const { return {x, w1, b1, w2, b2, w3, b3}; }
};

Chain chain(int rows, bool x_grad = true, bool w1_grad = true, bool b1_grad = true) {
  Chain c;
  c.x = random_leaf({rows, 96}, -2.f, 2.f, 1, x_grad);
  c.w1 = random_leaf({96, 160}, -0.3f, 0.3f, 2, w1_grad);
  c.b1 = random_leaf({160}, -0.5f, 0.5f, 3, b1_grad);
  c.w2 = random_leaf({160, 128}, -0.3f, 0.3f, 4);
  c.b2 = random_leaf({128}, -0.5f, 0.5f, 5);
  c.w3 = random_leaf({128, 40}, -0.3f, 0.3f, 6);
  c.b3 = random_leaf({40}, -0.5f, 0.5f, 7);
  c.y1 = f::affine(c.x, c.w1, c.b1);
  c.z1 = f::elu(c.y1, 1.0);
  c.y2 = f::affine(c.z1, c.w2, c.b2);
  c.z2 = f::elu(c.y2, 0.5);
  c.out = f::affine(c.z2, c.w3, c.b3);
  return c;
}

// On 1 and on 2 threads.
template <class Body>
void on_threads(Body&& body) {
  const int saved = get_num_threads();
  for (int t : {1, 2}) {
    set_num_threads(t);
    body();
  }
  set_num_threads(saved);
}

}  // namespace

// Both elus fuse forward (into the affine before) and backward (into the
// affine after), and every value and gradient is the unfused one.
TEST(affine_elu_chain_fused_equals_unfused) {
  on_threads([] {
    for (int rows : {1, 64}) {
      Chain c = chain(rows);
      auto [fwd, bwd] = compare(c.out, c.named(), c.leaves());
      CHECK_EQ(fwd, int64_t(2));
      CHECK_EQ(bwd, int64_t(2));
    }
  });
}

// relu fuses as elu does: x (rows, 96) → affine → relu → affine, forward
// into the first affine and backward into the second; same values and
// gradients as unfused, on 1 and 2 threads.
TEST(affine_relu_fused_equals_unfused) {
  on_threads([] {
    for (int rows : {1, 64}) {
      auto x = random_leaf({rows, 96}, -2.f, 2.f, 1);
      auto w1 = random_leaf({96, 160}, -0.3f, 0.3f, 2);
      auto b1 = random_leaf({160}, -0.5f, 0.5f, 3);
      auto w2 = random_leaf({160, 40}, -0.3f, 0.3f, 4);
      auto y1 = f::affine(x, w1, b1);
      auto z1 = f::relu(y1, false);
      auto out = f::affine(z1, w2, nullptr);
      const Named named{{"x", x}, {"w1", w1}, {"b1", b1}, {"w2", w2}, {"y1", y1}, {"z1", z1}, {"out", out}};
      Snapshot plain;
      with_fusion(false, [&] { plain = step(out, named, {x, w1, b1, w2}); });
      profiling::reset();
      profiling::set_enabled(true);
      const Snapshot fused = step(out, named, {x, w1, b1, w2});
      profiling::set_enabled(false);
      const auto counted = calls("affine+relu");
      profiling::reset();
      check_same(fused, plain);
      CHECK_EQ(counted.first, int64_t(1));
      CHECK_EQ(counted.second, int64_t(1));
    }
  });
}

// Leaves accumulate over two backward passes (no zeroing between) the same
// way fused and unfused.
TEST(fused_backward_accumulates_into_leaves) {
  on_threads([] {
    Chain c = chain(64);
    auto [fwd, bwd] = compare(c.out, c.named(), c.leaves(), 2);
    CHECK_EQ(bwd, int64_t(4));
    // And twice one pass.
    auto once = step(c.out, c.named(), c.leaves(), 1);
    auto twice = step(c.out, c.named(), c.leaves(), 2);
    for (const char* leaf : {"x.g", "w1.g", "b1.g", "w2.g"})
      for (size_t i = 0; i < once[leaf].size(); ++i) CHECK_NEAR(twice[leaf][i], 2.0 * once[leaf][i], 1e-5);
  });
}

// need_grad false on x and w1: y1 still needs a gradient (b1 does), the
// fusion happens. On x, w1 and b1: no gradient reaches z1, the second affine
// writes none, and z1's elu does not fuse backward (nothing to finish).
TEST(need_grad_false_inputs) {
  on_threads([] {
    Chain c = chain(64, false, false);
    auto [fwd, bwd] = compare(c.out, c.named(), c.leaves());
    CHECK_EQ(fwd, int64_t(2));
    CHECK_EQ(bwd, int64_t(2));
    Chain d = chain(64, false, false, false);
    std::tie(fwd, bwd) = compare(d.out, d.named(), d.leaves());
    CHECK_EQ(fwd, int64_t(2));
    CHECK_EQ(bwd, int64_t(1));
    CHECK(!d.z1->need_grad());
  });
}

// y1 read by a second function (another affine, which runs its backward
// after the fused one): its gradient gets both contributions. z2 read by two
// affines (as the VAE's h2 by fc_mu and fc_logvar): the elu fuses into the
// one whose backward writes z2's gradient last, adding to the other's.
TEST(second_readers) {
  on_threads([] {
    Chain c = chain(64);
    auto w4 = random_leaf({160, 40}, -0.3f, 0.3f, 8);
    auto w5 = random_leaf({128, 40}, -0.3f, 0.3f, 9);
    auto side = f::affine(c.y1, w4, nullptr);
    auto other = f::affine(c.z2, w5, nullptr);
    auto root = c.out + side + other;
    auto named = c.named();
    named.push_back({"side", side});
    named.push_back({"other", other});
    auto leaves = c.leaves();
    leaves.push_back(w4);
    leaves.push_back(w5);
    auto [fwd, bwd] = compare(root, named, leaves);
    CHECK_EQ(fwd, int64_t(2));
    CHECK_EQ(bwd, int64_t(2));
  });
}

// Shapes where the backward fusion must not happen, still right: the
// affine after the elu reads the elu's input too (as its bias), and an elu
// of a leaf (its gradient accumulates across passes).
TEST(affine_reading_the_elu_input) {
  auto y = random_leaf({40}, -2.f, 2.f, 11);
  auto z = f::elu(y, 1.0);
  auto w = random_leaf({40, 40}, -0.3f, 0.3f, 12);
  auto out = f::affine(z, w, y, 0);
  auto [fwd, bwd] = compare(out, {{"y", y}, {"z", z}, {"w", w}, {"out", out}}, {y, w}, 2);
  CHECK_EQ(fwd, int64_t(0));
  CHECK_EQ(bwd, int64_t(0));

  auto p = random_leaf({8, 40}, -2.f, 2.f, 13);
  auto q = f::affine(f::elu(p, 1.0), w, nullptr);
  std::tie(fwd, bwd) = compare(q, {{"p", p}, {"w", w}, {"q", q}}, {p, w}, 2);
  CHECK_EQ(fwd, int64_t(0));
  CHECK_EQ(bwd, int64_t(2));
}

// clear_no_need_grad forward and clear_buffer backward: the leaf gradients
// are the same; forward(clear_buffer) then backward loses the same ones.
TEST(clear_buffer) {
  on_threads([] {
    Chain c = chain(64);
    auto r = random_leaf(c.out->shape(), -1.f, 1.f, 99, false);
    auto run = [&](bool fuse) {
      Snapshot s;
      with_fusion(fuse, [&] {
        for (auto& l : c.leaves()) l->variable()->grad()->zero();
        c.out->forward(false, true);
        c.out->backward(r->variable()->data(), true);
        for (auto& [name, v] : c.named())
          if (!v->parent()) s[name] = grad_of(v);
        s["out"] = data_of(c.out);
      });
      return s;
    };
    check_same(run(true), run(false));

    // Backward after forward(clear_buffer): the leaves' gradients are lost
    // (freed) whether the functions fuse or not.
    auto lost = [&](bool fuse) {
      size_t n = 0;
      with_fusion(fuse, [&] {
        for (auto& l : c.leaves()) l->variable()->grad()->zero();
        c.out->forward(true, false);
        c.out->backward(r->variable()->data());
        for (auto& l : c.leaves()) n += l->variable()->grad()->cleared();
      });
      return n;
    };
    const size_t fused = lost(true);
    CHECK(fused > 0);
    CHECK_EQ(fused, lost(false));
  });
}

// Auto-forward: functions run as they are created, one at a time (nothing
// fuses forward); backward fuses; values agree with the static graph's.
TEST(auto_forward) {
  Chain s = chain(64);
  auto want = step(s.out, s.named(), s.leaves());
  Chain c;
  {
    ThreadAutoForwardScope scope(true);
    c = chain(64);
  }
  profiling::reset();
  profiling::set_enabled(true);
  for (auto& l : c.leaves()) l->variable()->grad()->zero();
  auto r = random_leaf(c.out->shape(), -1.f, 1.f, 99, false);
  c.out->backward(r->variable()->data());
  profiling::set_enabled(false);
  CHECK_EQ(calls("affine+elu").second, int64_t(2));
  CHECK_EQ(calls("elu").second, int64_t(0));
  profiling::reset();
  for (auto& [name, v] : c.named()) {
    CHECK_ALL_NEAR(data_of(v), want[name + ".d"], 1e-6);
    CHECK_ALL_NEAR(grad_of(v), want[name + ".g"], 1e-6);
  }
}

// The VAE's graph: every elu fuses both ways (h2's backward into the affine
// that writes its gradient last); loss, outputs and every parameter's
// gradient match the unfused step.
TEST(vae_graph_fused_equals_unfused) {
  on_threads([] {
    ParameterDirectory params;
    set_seed(313);
    auto x = random_leaf({16, 1, 28, 28}, 0.f, 1.f, 21, false);
    auto net = vae::build_vae(x, params, 8, 64);
    Snapshot plain, fused;
    auto run = [&] {
      set_seed(5);  // the same noise in both runs
      for (auto& [name, v] : params.get_parameters()) v->grad()->zero();
      net.loss->forward(false, true);
      Snapshot s;
      s["loss"] = data_of(net.loss);
      s["mu"] = data_of(net.mu);
      net.loss->variable()->grad()->fill(1.f);
      net.loss->backward(nullptr, true);
      for (auto& [name, v] : params.get_parameters()) {
        const float* g = v->grad()->cast<float>(cpu());
        s[name] = std::vector<float>(g, g + v->size());
      }
      return s;
    };
    with_fusion(false, [&] { plain = run(); });
    profiling::reset();
    profiling::set_enabled(true);
    fused = run();
    profiling::set_enabled(false);
    auto [fwd, bwd] = calls("affine+elu");
    profiling::reset();
    CHECK_EQ(fwd, int64_t(4));
    CHECK_EQ(bwd, int64_t(4));
    check_same(fused, plain, 1e-5);
  });
}

// Backward through a fused chain agrees with finite differences (values of
// y away from elu's kink at 0 by more than the step are not guaranteed, so
// the tolerance is the gradient check's usual one).
TEST(fused_chain_gradient_check) {
  auto x = random_leaf({3, 5}, -1.f, 1.f, 31);
  auto w1 = random_leaf({5, 6}, -1.f, 1.f, 32);
  auto b1 = random_leaf({6}, -0.5f, 0.5f, 33);
  auto w2 = random_leaf({6, 4}, -1.f, 1.f, 34);
  auto b2 = random_leaf({4}, -0.5f, 0.5f, 35);
  auto w3 = random_leaf({4, 2}, -1.f, 1.f, 36);
  auto out = f::affine(f::elu(f::affine(f::elu(f::affine(x, w1, b1), 1.0), w2, b2), 0.7), w3, nullptr);
  profiling::reset();
  profiling::set_enabled(true);
  CHECK_GRADIENTS(out, {x, w1, b1, w2, b2, w3});
  profiling::set_enabled(false);
  auto [fwd, bwd] = calls("affine+elu");
  profiling::reset();
  CHECK(fwd > 0);
  CHECK(bwd > 0);
}

NNVAE_TEST_MAIN()
