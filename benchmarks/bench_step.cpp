// bench_step: times nnvae's VAE training step with no Python in the loop.
//
// A worker driven by benchmarks/bench_train.py over stdin and
// stdout, so that the engine and the PyTorch twin can be measured alternately,
// each warmed up in its own long-lived process:
//
//   bench_step --threads T [--path trainer|monitored|graph] [--precision fp32|bf16]
//   stdin:  step B N      N training steps at batch B   -> {"seconds": s, "loss": l}
//           profile B N   the same, with per-function times (forward and backward)
//           matmul B R [mean] [cold]  the step's 20 matrix products at batch B (Eigen's and
//                         the engine's), best of R blocks of 5 (or their mean); with
//                         `cold` every thread's caches below L3 are overwritten before
//                         each product, so its operands come from L3 as in a step
//           quit
//   stdout: one JSON object per command.
//
// --path trainer (the default) times vae::VaeTrainer::train, the loop
// nnvae-train runs, without its validation passes; --path monitored the same
// loop with them (nnvae-train's default: 10 test batches every 10 steps, so
// that `step B N` costs what N steps of the default run cost); --path graph builds the tutorial's graph (vae::build_vae)
// and runs its step (zero_grad, forward, backward, update) the way the
// tutorial does. --precision sets the products' precision (precision.hpp)
// for every command (the trainer's own setting follows it). Data:
// vae::synthetic_digits (the values do not change the cost).
#include <Eigen/Core>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nnvae/nnvae.hpp>
#include <nnvae/vae.hpp>

#include <nnvae/kernels/matmul.hpp>  // the engine's product (affine's)

using namespace nnvae;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

using vae::kPixels;

// --- the tutorial's graph, stepped the tutorial's way ----------------------
class GraphStepper {
 public:
  GraphStepper(int batch, const std::vector<uint8_t>& images, int64_t count)
      : batch_(batch), images_(images), count_(count) {
    const vae::VaeConfig recipe;  // the tutorial's seed, model size and Adam settings
    set_seed(recipe.seed);
    auto net = vae::build_vae(std::make_shared<CgVariable>(Shape_t{batch, 1, 28, 28}, false), params_,
                              recipe.latent, recipe.hidden);
    x_ = net.x;
    loss_ = net.loss;
    solver_ = create_AdamSolver(ctx_, recipe.learning_rate, recipe.beta1, recipe.beta2, recipe.eps);
    solver_->set_parameters(params_.get_parameters());
  }

  // N steps; returns the last loss.
  float run(int64_t steps) {
    float loss = 0;
    for (int64_t s = 0; s < steps; ++s) {
      float* x = x_->variable()->cast_data_and_get_pointer<float>(ctx_, true);
      if (pos_ + batch_ > count_) pos_ = 0;
      const uint8_t* src = images_.data() + pos_ * kPixels;
      for (int64_t i = 0; i < int64_t(batch_) * kPixels; ++i) x[i] = src[i] * (1.0f / 255.0f);
      pos_ += batch_;
      solver_->zero_grad();
      loss_->forward(false, true);
      loss_->variable()->grad()->fill(1.0f);
      loss_->backward(nullptr, true);
      solver_->update();
      loss = *loss_->variable()->cast_data_and_get_pointer<float>(ctx_);
    }
    return loss;
  }

 private:
  Context ctx_{{"cpu:float"}, "CpuCachedArray", "0"};
  int batch_;
  const std::vector<uint8_t>& images_;
  int64_t count_, pos_ = 0;
  ParameterDirectory params_;
  CgVariablePtr x_, loss_;
  std::shared_ptr<AdamSolver> solver_;
};

// --- the real training loop --------------------------------------------------
class TrainerStepper {
 public:
  TrainerStepper(int batch, const std::vector<uint8_t>& images, int64_t count, bool monitored) {
    vae::VaeConfig cfg;
    cfg.batch_size = batch;
    cfg.precision = get_matmul_precision();  // --precision
    cfg.iterations = int64_t(1) << 40;  // never reached: the bench asks for steps
    // Unless monitored, training steps only: the validation pass nnvae-train
    // makes every 10 steps (10 forward batches) is not part of the step
    // being compared with PyTorch's.
    if (!monitored) cfg.monitor_interval = 1 << 30;
    vae::ImageSet train(std::vector<uint8_t>(images.begin(), images.begin() + count * kPixels), count);
    int64_t n_test = std::min<int64_t>(count, 10000);
    vae::ImageSet test(std::vector<uint8_t>(images.begin(), images.begin() + n_test * kPixels), n_test);
    trainer_ = std::make_unique<vae::VaeTrainer>(cfg, std::move(train), std::move(test));
  }
  // The loss is not reported without monitoring: returns the state's
  // running sum of training losses divided by the steps taken.
  float run(int64_t steps) {
    trainer_->train(trainer_->iteration() + steps);
    auto st = trainer_->state();
    return st.loss_count ? static_cast<float>(st.loss_sum / st.loss_count) : 0.f;
  }

 private:
  std::unique_ptr<vae::VaeTrainer> trainer_;
};

// --- matrix products ---------------------------------------------------------
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Product {
  std::string what;  // "fc1 fwd" etc.
  int64_t m, k, n;   // C (m, n) = A (m, k) · B (k, n)
  int kind;          // 0: X·W, 1: dY·Wᵀ, 2: Xᵀ·dY  (as affine computes them)
};

// The products of one training step at batch B: forward X·W for every layer,
// backward dX = dY·Wᵀ (all but fc1, whose input needs no gradient) and
// dW = Xᵀ·dY.
std::vector<Product> step_products(int64_t B) {
  const auto layers = vae::vae_layers(vae::kTutorialLatent, vae::kTutorialHidden);
  std::vector<Product> ps;
  for (auto& l : layers) ps.push_back({l.name + " X.W", B, l.n_in, l.n_out, 0});
  for (auto& l : layers) {
    if (l.name != "fc1") ps.push_back({l.name + " dY.WT", B, l.n_out, l.n_in, 1});
    ps.push_back({l.name + " XT.dY", l.n_in, B, l.n_out, 2});
  }
  return ps;
}

// Overwrites the private caches (L1, L2) of every engine thread: each
// thread writes 16 MB, eight times a core's L2 here, of a buffer of its own.
// In a training step a product's operands were last touched several
// functions earlier (W by Adam's update, X by the forward pass), so they
// arrive from L3; timed back to back, a product finds them in L2 instead.
void evict_private_caches() {
  constexpr size_t kFloats = size_t(4) << 20;  // 16 MB per thread
  static std::vector<std::vector<float>> junk;
  const int threads = get_num_threads();
  if (static_cast<int>(junk.size()) < threads) junk.resize(threads, std::vector<float>(kFloats));
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int t = 0; t < threads; ++t)
    for (float& v : junk[t]) v += 1.f;
}

// Seconds per product over `reps` blocks of 5, the best block (the
// machine's speed) or, with `mean`, their mean (exposed to a busy machine as
// much as a training measurement is): with Eigen's own product (its OpenMP
// threads when T > 1) and with the engine's kernels::matmul (affine's).
// `cold` times each product alone after evict_private_caches (not timed).
std::string time_products(int64_t B, int reps, bool mean, bool cold) {
  std::ostringstream os;
  os << "{\"products\": [";
  bool first = true;
  for (auto& p : step_products(B)) {
    // Operands stored as the engine stores them (row-major X, W, dY).
    RowMatrix A, Bm, C(p.m, p.n);
    if (p.kind == 0) A = RowMatrix::Random(p.m, p.k), Bm = RowMatrix::Random(p.k, p.n);
    if (p.kind == 1) A = RowMatrix::Random(p.m, p.k), Bm = RowMatrix::Random(p.n, p.k);  // W (n, k)
    if (p.kind == 2) A = RowMatrix::Random(p.k, p.m), Bm = RowMatrix::Random(p.k, p.n);  // X (B, in)
    auto eigen = [&] {
      if (p.kind == 0) C.noalias() = A * Bm;
      if (p.kind == 1) C.noalias() = A * Bm.transpose();
      if (p.kind == 2) C.noalias() = A.transpose() * Bm;
    };
    auto engine = [&] { kernels::matmul(A.data(), p.kind == 2, Bm.data(), p.kind == 1, C.data(), p.m, p.k, p.n, false); };
    auto best_of = [&](auto&& once) {
      once();
      double best = 1e30, total = 0;
      for (int r = 0; r < reps; ++r) {
        double s = 0;
        if (cold) {
          for (int i = 0; i < 5; ++i) {
            evict_private_caches();
            auto t0 = Clock::now();
            once();
            s += seconds_since(t0) / 5;
          }
        } else {
          auto t0 = Clock::now();
          for (int i = 0; i < 5; ++i) once();
          s = seconds_since(t0) / 5;
        }
        best = std::min(best, s);
        total += s;
      }
      return mean ? total / reps : best;
    };
    double e = best_of(eigen), n = best_of(engine);
    os << (first ? "" : ", ") << "{\"what\": \"" << p.what << "\", \"m\": " << p.m << ", \"k\": " << p.k
       << ", \"n\": " << p.n << ", \"eigen\": " << e << ", \"nnvae\": " << n << "}";
    first = false;
  }
  os << "]}";
  return os.str();
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  std::string path = "trainer";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--path" && i + 1 < argc && (std::strcmp(argv[i + 1], "trainer") == 0 ||
                                                std::strcmp(argv[i + 1], "monitored") == 0 ||
                                                std::strcmp(argv[i + 1], "graph") == 0))
      path = argv[++i];
    else if (a == "--precision" && i + 1 < argc) {
      try {
        set_matmul_precision(parse_matmul_precision(argv[++i]));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_step: %s\n", e.what());
        return 2;
      }
    } else {
      std::fprintf(stderr, "usage: bench_step [--threads T] [--path trainer|monitored|graph] [--precision fp32|bf16]\n");
      return 2;
    }
  }
  set_num_threads(threads);
  const int64_t count = 6000;
  const auto images = vae::synthetic_digits(count, 1).pixels;

  // One stepper per batch size, made on first use and kept (warm).
  std::map<int, std::unique_ptr<GraphStepper>> graphs;
  std::map<int, std::unique_ptr<TrainerStepper>> trainers;
  auto run = [&](int batch, int64_t steps) -> float {
    if (path != "graph") {
      auto& t = trainers[batch];
      if (!t) t = std::make_unique<TrainerStepper>(batch, images, count, path == "monitored");
      return t->run(steps);
    }
    auto& g = graphs[batch];
    if (!g) g = std::make_unique<GraphStepper>(batch, images, count);
    return g->run(steps);
  };

  std::cout << "{\"ready\": true, \"threads\": " << get_num_threads() << ", \"path\": \"" << path
            << "\", \"precision\": \"" << matmul_precision_name(get_matmul_precision()) << "\"}" << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream is(line);
    std::string cmd;
    is >> cmd;
    try {
      if (cmd == "quit" || cmd.empty()) break;
      if (cmd == "step" || cmd == "profile") {
        int batch = 0;
        int64_t steps = 0;
        is >> batch >> steps;
        if (batch <= 0 || steps <= 0) throw std::invalid_argument("step B N: B and N must be > 0");
        run(batch, 1);  // builds and warms the stepper outside the timing
        if (cmd == "profile") {
          profiling::reset();
          profiling::set_enabled(true);
        }
        auto t0 = Clock::now();
        float loss = run(batch, steps);
        double s = seconds_since(t0);
        std::cout << "{\"seconds\": " << s << ", \"loss\": " << loss;
        if (cmd == "profile") {
          profiling::set_enabled(false);
          std::cout << ", \"functions\": [";
          bool first = true;
          for (auto& e : profiling::report()) {
            std::cout << (first ? "" : ", ") << "{\"name\": \"" << json_escape(e.name)
                      << "\", \"forward\": " << e.forward_seconds << ", \"backward\": " << e.backward_seconds
                      << ", \"forward_calls\": " << e.forward_calls << ", \"backward_calls\": " << e.backward_calls
                      << "}";
            first = false;
          }
          std::cout << "]";
        }
        std::cout << "}" << std::endl;
      } else if (cmd == "matmul") {
        int batch = 0, reps = 0;
        is >> batch >> reps;
        if (batch <= 0 || reps <= 0) throw std::invalid_argument("matmul B R [mean] [cold]: B and R must be > 0");
        bool mean = false, cold = false;
        for (std::string word; is >> word;) {
          if (word == "mean") mean = true;
          else if (word == "cold") cold = true;
          else throw std::invalid_argument("matmul B R [mean] [cold]: unknown word '" + word + "'");
        }
        std::cout << time_products(batch, reps, mean, cold) << std::endl;
      } else {
        throw std::invalid_argument("unknown command '" + cmd + "'");
      }
    } catch (const std::exception& e) {
      std::cout << "{\"error\": \"" << json_escape(e.what()) << "\"}" << std::endl;
    }
  }
  return 0;
}
