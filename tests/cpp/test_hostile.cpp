// The engine under hostile input, in C++ (and under ASan/UBSan in CI): sizes
// that overflow, memory that cannot be had, thread counts beyond the bound,
// one solver used from two threads, a thread's own generator, and backward
// on a graph that was never computed.
#include <atomic>
#include <thread>

#include "check.hpp"
#include "nnvae/checked.hpp"
#include "nnvae/nnvae.hpp"

using namespace nnvae;
namespace f = nnvae::functions;

TEST(sizes_are_checked) {
  const Shape_t small{2, 3, 4}, empty{0, int64_t(1) << 62, int64_t(1) << 62}, huge{int64_t(1) << 62, 4},
      negative{3, -1};
  // 4·5·5581·8681·49477·384773 wraps around to 4 in 64 bits.
  const Shape_t wraps{4, 5, 5581, 8681, 49477, 384773};
  const std::vector<int> wraps_int(wraps.begin(), wraps.end());
  CHECK_EQ(checked_size(small, "t"), 24);
  CHECK_EQ(checked_size(empty, "t"), 0);  // empty, whatever the rest
  CHECK_THROWS_WITH(checked_size(huge, "Variable"),
                    "Variable: shape (4611686018427387904, 4) has more elements than an array can hold");
  CHECK_THROWS_WITH(checked_size(negative, "x"), "x: shape (3, -1) has a negative dimension");
  CHECK_THROWS_WITH(Variable v(wraps), "has more elements than an array can hold");
  auto x = std::make_shared<CgVariable>(Shape_t{4});
  CHECK_THROWS_WITH(f::reshape(x, wraps_int, false), "reshape: target shape (4, 5, 5581, 8681, 49477, 384773)");
}

TEST(memory_beyond_the_machine_is_a_named_bad_alloc) {
  auto x = std::make_shared<CgVariable>(Shape_t{int64_t(1) << 40, 4});
  auto y = f::sum(x, {0}, false);
  bool threw = false;
  try {
    y->forward();
  } catch (const std::bad_alloc& e) {
    threw = true;
    CHECK(std::string(e.what()).find("shape (1099511627776, 4)") != std::string::npos);
    CHECK(std::string(e.what()).find("16.0 TiB") != std::string::npos);
  }
  CHECK(threw);
  CHECK_EQ(format_bytes(1536), std::string("1.5 KiB"));
}

TEST(thread_counts_are_bounded) {
  CHECK(max_threads() >= 8 && max_threads() <= 1024);
  CHECK_THROWS_WITH(set_num_threads(max_threads() + 1), "more than this machine can sensibly run");
  CHECK_THROWS_WITH(set_num_threads(100000), "at most " + std::to_string(max_threads()));
}

TEST(one_solver_two_threads) {
  auto w = make_parameter({64, 64});
  w->variable()->data()->fill(1.f);
  std::vector<std::pair<std::string, VariablePtr>> params{{"w", w->variable()}};
  auto solver = create_AdamSolver(Context{}, 1e-3f);
  solver->set_parameters(params);
  w->variable()->grad()->fill(0.5f);
  std::atomic<int> sets{0};
  int updates = 0;
  std::thread updater([&] {
    while (sets < 200 || updates < 300) {
      solver->update();
      ++updates;
    }
  });
  for (; sets < 200; ++sets) {  // resets the states the running updates use, under the solver's lock
    solver->set_parameters(params, sets % 2 == 0, sets % 3 == 0);
    solver->get_states();
    solver->parameter_names();
  }
  updater.join();
  CHECK(updates >= 300);
  const float* p = w->variable()->data()->read("w");
  for (int i = 0; i < 64 * 64; ++i) CHECK(std::isfinite(p[i]) && p[i] < 1.f);
}

TEST(a_threads_generator_is_its_own) {
  set_seed(7);
  std::vector<float> expected(100);
  for (auto& v : expected) v = global_generator().normal();
  Generator own(99), reference(99);
  set_seed(7);
  std::thread other([&] {
    ThreadGeneratorScope scope(own);
    auto r = f::randn(0.f, 1.f, {1000}, -1);
    r->forward();
  });
  other.join();
  for (int i = 0; i < 100; ++i) {
    GeneratorUse use;
    CHECK_EQ(use.get().normal(), expected[i]);  // the process-wide sequence untouched
  }
  for (int i = 0; i < 1000; ++i) reference.normal();
  CHECK_EQ(own.normal(), reference.normal());  // the thread drew its 1000 from `own`
}

TEST(backward_without_forward_is_refused) {
  auto x = std::make_shared<CgVariable>(Shape_t{2, 3}, true);
  auto y = f::sum(f::sigmoid(x), {}, false);
  y->variable()->grad()->fill(1.f);
  CHECK_THROWS_WITH(y->backward(), "backward: the output of sum (shape ())");
  y->variable()->data()->fill(1.f);
  CHECK_THROWS_WITH(y->backward(), "the output of sigmoid (shape (2, 3)) was never computed");
  y->forward();
  y->backward();
  CHECK_NEAR(x->variable()->grad()->read("g")[0], 0.25f, 1e-6f);
}

TEST(affine_bias_shape_not_size) {
  auto x = std::make_shared<CgVariable>(Shape_t{2, 3});
  auto w = std::make_shared<CgVariable>(Shape_t{3, 4});
  auto b = std::make_shared<CgVariable>(Shape_t{2, 2});
  CHECK_THROWS_WITH(f::affine(x, w, b, 1), "affine: b has shape (2, 2) but W shape (3, 4) needs (4,)");
}

NNVAE_TEST_MAIN()
