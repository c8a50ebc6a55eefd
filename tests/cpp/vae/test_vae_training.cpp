// nnvae_vae: the model's parameters, the training loop (learning,
// determinism, static = dynamic, exact resume, stopping, non-finite losses)
// and the evaluation functions, on small synthetic digit-like images.
#include <nnvae/vae.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>

#include "check.hpp"

using namespace nnvae;
using namespace nnvae::vae;

namespace {

// A small model and short schedule so every test stays fast.
VaeConfig small_config() {
  VaeConfig c;
  c.iterations = 40;
  c.batch_size = 20;
  c.latent = 8;
  c.hidden = 64;
  c.learning_rate = 1e-3f;
  c.monitor_interval = 10;
  c.validation_batches = 2;
  c.threads = 1;
  c.seed = 5;
  return c;
}

std::vector<MonitorRecord> run(VaeTrainer& t, int64_t until) {
  std::vector<MonitorRecord> out;
  t.train(until, [&](const MonitorRecord& r) { out.push_back(r); });
  return out;
}

std::vector<float> flat_parameters(const VaeTrainer& t) {
  Context ctx;
  std::vector<float> all;
  for (auto& [name, v] : t.parameters().get_parameters()) {
    const float* p = v->cast_data_and_get_pointer<float>(ctx);
    all.insert(all.end(), p, p + v->size());
  }
  return all;
}

bool same_records(const std::vector<MonitorRecord>& a, const std::vector<MonitorRecord>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].iteration != b[i].iteration || a[i].train_loss != b[i].train_loss || a[i].val_loss != b[i].val_loss)
      return false;
  return true;
}

}  // namespace

TEST(parameter_names_shapes_and_count) {
  auto shapes = vae_parameter_shapes(50, 500);
  CHECK_EQ(shapes.size(), size_t(14));
  CHECK_EQ(shapes[0].first, std::string("fc1/affine/W"));
  CHECK_EQ(shapes[13].first, std::string("fc5/affine/b"));
  int64_t total = 0;
  for (auto& s : shapes) total += shape_size(s.second);
  CHECK_EQ(total, int64_t(1361884));
  // The trainer creates exactly these, in this order.
  VaeTrainer t(VaeConfig{}, synthetic_digits(100, 1), synthetic_digits(10, 2));
  auto params = t.parameters().get_parameters();
  CHECK_EQ(params.size(), shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i) {
    CHECK_EQ(params[i].first, shapes[i].first);
    CHECK(params[i].second->shape() == shapes[i].second);
  }
}

TEST(config_fields_parse_text_into_the_config) {
  VaeConfig c;
  config_field("batch-size").set(c, "50");
  config_field("learning_rate").set(c, "1e-3");
  config_field("graph").set(c, "dynamic");
  CHECK_EQ(c.batch_size, 50);
  CHECK_EQ(c.learning_rate, 1e-3f);
  CHECK(c.graph == GraphMode::dynamic_graph);
  CHECK_EQ(config_field("learning-rate").get(VaeConfig{}), std::string("0.0003"));
  CHECK_THROWS_WITH(config_field("batch-size").set(c, "2147483648"),
                    "--batch-size: 2147483648 is too large (at most 2147483647)");
  CHECK_THROWS_WITH(config_field("iterations").set(c, "abc"), "--iterations: expected a whole number, got 'abc'");
  CHECK_THROWS_WITH(config_field("iterations").set(c, "-99999999999999999999"),
                    "--iterations: -99999999999999999999 is too small (at least -9223372036854775808)");
  CHECK_THROWS_WITH(config_field("seed").set(c, "-1"), "--seed: -1 is too small (at least 0)");
  CHECK_THROWS_WITH(config_field("eps").set(c, "1e-8x"),
                    "--eps: expected a finite decimal number (such as 0.0003 or 3e-4), got '1e-8x'");
  CHECK_THROWS_WITH(config_field("graph").set(c, "eager"), "unknown graph mode 'eager': choose static or dynamic");
  CHECK_THROWS_WITH(config_field("batch"), "unknown setting 'batch': choose one of iterations, batch_size");
  // Every member has one field, each with a flag and help.
  config_field("precision").set(c, "bf16");
  CHECK(c.precision == MatmulPrecision::bf16);
  CHECK_EQ(config_field("precision").get(VaeConfig{}), std::string("fp32"));
  CHECK(config_field("precision").choices == matmul_precision_names());
  CHECK_THROWS_WITH(config_field("precision").set(c, "fp16"), "unknown matmul precision 'fp16': choose fp32 or bf16");
  CHECK_EQ(config_fields().size(), size_t(15));
  for (const ConfigField& f : config_fields()) CHECK(!f.flag.empty() && !f.help.empty() && f.set && f.get);
}

TEST(real_fields_take_finite_decimal_numbers_only) {
  // strtod alone reads hexadecimal ("0x10" is 16), inf, nan and leading
  // blanks; a float setting takes none of them, nor a number a float cannot hold.
  for (const ConfigField& f : config_fields()) {
    if (f.kind != ConfigField::Kind::real) continue;
    for (const char* text : {"0x10", "0X1P-2", "-0x1", "inf", "-inf", "INF", "infinity", "nan", "NAN(1)", " 1e-3",
                             "1e-3 ", "+", ".", "e5", "1e", "1e+", "1..2", ""}) {
      VaeConfig c;
      CHECK_THROWS_WITH(f.set(c, text), "--" + f.flag + ": expected a finite decimal number (such as 0.0003 or 3e-4), "
                                        "got '" + std::string(text) + "'");
    }
    VaeConfig c;
    CHECK_THROWS_WITH(f.set(c, "1e39"), "--" + f.flag + ": 1e39 is beyond a 32-bit float (at most 3.40282e+38)");
    CHECK_THROWS_WITH(f.set(c, "-4e38"), "--" + f.flag + ": -4e38 is beyond a 32-bit float (at most 3.40282e+38)");
    CHECK_THROWS_WITH(f.set(c, "1e-50"), "--" + f.flag + ": 1e-50 is too small for a 32-bit float (it would be 0)");
    for (const char* text : {"0.0003", "3e-4", "3E-4", "+.5", "5.", "1e-08", "-2", "0", "-0", "1e-40", "3.4e38"}) {
      f.set(c, text);  // read as the float nearest to it, shown back as the same float
      CHECK_EQ(std::strtof(f.get(c).c_str(), nullptr), std::strtof(text, nullptr));
    }
  }
  VaeConfig c;
  config_field("learning-rate").set(c, "+.5");
  CHECK_EQ(c.learning_rate, 0.5f);
  config_field("eps").set(c, "1e-40");  // a subnormal float: small, not zero
  CHECK(c.eps > 0 && c.eps < 1e-39f);
}

TEST(synthetic_digits_are_deterministic_strokes) {
  ImageSet a = synthetic_digits(20, 1), b = synthetic_digits(20, 1), c = synthetic_digits(20, 2);
  CHECK_EQ(a.count, int64_t(20));
  CHECK(a.pixels == b.pixels);
  CHECK(a.pixels != c.pixels);
  // Each image: a stroke of 200..254, 3 pixels wide over 19 rows or columns
  // (57 pixels), and black elsewhere but for a few stray 150s.
  for (int64_t i = 0; i < a.count; ++i) {
    int bright = 0, stray = 0;
    for (int p = 0; p < kPixels; ++p) {
      uint8_t v = a.pixels[i * kPixels + p];
      bright += v >= 200;
      stray += v == 150;
      CHECK(v == 0 || v == 150 || v >= 200);
    }
    CHECK_EQ(bright, 57);
    CHECK(stray < 40);
  }
}

TEST(monitor_line_format) {
  CHECK_EQ(format_monitor_line({9, 503.848297, 405.502197}), std::string("iter: 9, tloss: 503.848297, vloss: 405.502197"));
}

TEST(learns_and_monitors_every_interval) {
  VaeConfig c = small_config();
  c.iterations = 150;
  VaeTrainer t(c, synthetic_digits(400, 1), synthetic_digits(60, 2));
  auto recs = run(t, c.iterations);
  CHECK_EQ(recs.size(), size_t(15));
  CHECK_EQ(recs[0].iteration, int64_t(9));
  CHECK_EQ(recs.back().iteration, int64_t(149));
  // Logits start near 0: 784·ln 2 = 543 nats; the strokes are easy to learn.
  CHECK(recs[0].train_loss > 300 && recs[0].train_loss < 600);
  std::printf("tloss %.2f -> %.2f, vloss %.2f -> %.2f\n", recs[0].train_loss, recs.back().train_loss,
              recs[0].val_loss, recs.back().val_loss);
  CHECK(recs.back().train_loss < 0.4 * recs[0].train_loss);
  CHECK(recs.back().val_loss < 0.4 * recs[0].val_loss);
  CHECK_EQ(t.iteration(), int64_t(150));
}

TEST(same_seed_same_numbers_other_seed_other_numbers) {
  VaeConfig c = small_config();
  VaeTrainer a(c, synthetic_digits(200, 1), synthetic_digits(40, 2)), b(c, synthetic_digits(200, 1), synthetic_digits(40, 2));
  auto ra = run(a, 30), rb = run(b, 30);
  CHECK(same_records(ra, rb));
  c.seed = 6;
  VaeTrainer d(c, synthetic_digits(200, 1), synthetic_digits(40, 2));
  CHECK(!same_records(ra, run(d, 30)));
}

TEST(static_and_dynamic_graphs_give_the_same_numbers) {
  VaeConfig c = small_config();
  VaeTrainer s(c, synthetic_digits(200, 1), synthetic_digits(40, 2));
  c.graph = GraphMode::dynamic_graph;
  VaeTrainer d(c, synthetic_digits(200, 1), synthetic_digits(40, 2));
  auto rs = run(s, 30), rd = run(d, 30);
  CHECK(same_records(rs, rd));
  CHECK(flat_parameters(s) == flat_parameters(d));
  CHECK(!get_auto_forward());  // the dynamic trainer restores the mode
}

TEST(bf16_training_learns_close_to_fp32_and_keeps_the_setting_to_itself) {
  VaeConfig c = small_config();
  c.iterations = 150;
  VaeTrainer f(c, synthetic_digits(400, 1), synthetic_digits(60, 2));
  c.precision = MatmulPrecision::bf16;
  VaeTrainer b(c, synthetic_digits(400, 1), synthetic_digits(60, 2));
  const auto rf = run(f, c.iterations), rb = run(b, c.iterations);
  CHECK(get_matmul_precision() == MatmulPrecision::fp32);  // the trainer's scope ended with train()
  CHECK(!same_records(rf, rb));  // its products did round
  // The same learning: the last validation losses within a few percent.
  std::printf("vloss fp32 %.3f, bf16 %.3f\n", rf.back().val_loss, rb.back().val_loss);
  CHECK(std::fabs(rb.back().val_loss - rf.back().val_loss) < 0.05 * rf.back().val_loss);
}

TEST(validation_is_the_mean_of_its_batches_losses) {
  // Batch 300, 10 validation batches: passes of 3, 3, 3 and 1 batches over
  // 3,000 test images, wrapping around the 1,100 there are. The monitor's
  // vloss must be the mean of the ten batch losses computed one batch at a
  // time on the same parameters with the same noise, in the same order.
  for (GraphMode mode : {GraphMode::static_graph, GraphMode::dynamic_graph}) {
    VaeConfig c = small_config();
    c.batch_size = 300;
    c.validation_batches = 10;
    c.graph = mode;
    auto test_images = synthetic_digits(1100, 2);
    VaeTrainer monitored(c, synthetic_digits(600, 1), test_images);
    auto recs = run(monitored, 10);
    CHECK_EQ(recs.size(), size_t(1));
    CHECK_EQ(monitored.state().val_cursor, int64_t(3000 % 1100));
    // The same 10 steps without a monitor: the parameters and the noise
    // generator as they were when the validation began.
    c.monitor_interval = 1000;
    VaeTrainer plain(c, synthetic_digits(600, 1), test_images);
    run(plain, 10);
    Generator noise;
    noise.set_state(plain.state().noise_generator);
    ThreadGeneratorScope scope(noise);
    ThreadAutoForwardScope off(false);
    auto x = std::make_shared<CgVariable>(Shape_t{300, 1, kRows, kCols}, false);
    auto net = build_vae(x, plain.parameters(), c.latent, c.hidden);
    double sum = 0;
    for (int b = 0; b < 10; ++b) {
      float* px = x->variable()->cast_data_and_get_pointer<float>(Context(), true);
      for (int i = 0; i < 300; ++i) {
        const uint8_t* src = test_images.pixels.data() + ((b * 300 + i) % 1100) * int64_t(kPixels);
        for (int p = 0; p < kPixels; ++p) px[i * kPixels + p] = src[p] / 255.0f;
      }
      net.loss->forward(true, false);
      sum += *net.loss->variable()->cast_data_and_get_pointer<float>(Context());
    }
    std::printf("vloss %.6f, ten batches one by one %.6f\n", recs[0].val_loss, sum / 10);
    CHECK(std::fabs(recs[0].val_loss - sum / 10) < 1e-5 * std::fabs(sum / 10));
    CHECK(recs[0].val_loss > 100);  // an untrained model: hundreds of nats per image
  }
}

TEST(resume_is_bit_exact) {
  // 35 steps straight, against 17 steps, a new trainer given the saved
  // parameters, Adam states and loop state, then 18 more steps. 17 is
  // mid-interval and 35 > 1 epoch (200 / 20 = 10 batches).
  VaeConfig c = small_config();
  VaeTrainer straight(c, synthetic_digits(200, 1), synthetic_digits(40, 2));
  auto all = run(straight, 35);

  VaeTrainer first(c, synthetic_digits(200, 1), synthetic_digits(40, 2));
  auto part1 = run(first, 17);
  auto states = first.solver()->get_states();
  auto loop = first.state();
  c.seed = 99;  // the fresh trainer's own initial draws must not matter
  VaeTrainer second(c, synthetic_digits(200, 1), synthetic_digits(40, 2));
  auto src = first.parameters().get_parameters();
  auto dst = second.parameters().get_parameters();
  for (size_t i = 0; i < src.size(); ++i)
    std::memcpy(dst[i].second->data()->write(), src[i].second->data()->read("test"), sizeof(float) * src[i].second->size());
  second.solver()->set_states(states);
  second.set_state(loop);
  auto part2 = run(second, 35);

  part1.insert(part1.end(), part2.begin(), part2.end());
  CHECK(same_records(all, part1));
  CHECK(flat_parameters(straight) == flat_parameters(second));
}

TEST(should_stop_stops_before_the_next_step) {
  VaeConfig c = small_config();
  VaeTrainer t(c, synthetic_digits(200, 1), synthetic_digits(40, 2));
  int calls = 0;
  auto r = t.train(40, nullptr, [&] { return ++calls > 7; });
  CHECK(r.reason == StopReason::stopped);
  CHECK_EQ(r.iteration, int64_t(7));
  CHECK_EQ(t.iteration(), int64_t(7));
  r = t.train(12);
  CHECK(r.reason == StopReason::finished);
  CHECK_EQ(t.iteration(), int64_t(12));
}

TEST(nonfinite_loss_stops_and_names_the_iteration) {
  VaeConfig c = small_config();
  c.learning_rate = 1e30f;  // the first update throws every weight to ±1e30
  VaeTrainer t(c, synthetic_digits(200, 1), synthetic_digits(40, 2));
  auto r = t.train(40);
  CHECK(r.reason == StopReason::nonfinite);
  CHECK_EQ(r.iteration, int64_t(1));
  CHECK(!std::isfinite(r.bad_loss));
  CHECK_EQ(t.iteration(), int64_t(1));
}

TEST(initial_parameters_glorot_or_fan_in) {
  // glorot (the tutorial's): |W| <= sqrt(6/(n_in + n_out)), b = 0.
  // fan-in: |W|, |b| <= 1/sqrt(n_in), and b is drawn too.
  for (const char* init : {"glorot", "fan-in"}) {
    VaeConfig c = small_config();
    c.init = init;
    VaeTrainer t(c, synthetic_digits(200, 1), synthetic_digits(40, 2));
    auto params = t.parameters();
    for (auto& [name, var] : params.get_parameters()) {
      auto w = params.get_parameter(name.substr(0, name.rfind('/')) + "/W");
      const double n_in = double(w->shape()[0]), n_out = double(w->shape()[1]);
      const bool fan_in = std::string(init) == "fan-in";
      const double lim = fan_in ? 1.0 / std::sqrt(n_in) : std::sqrt(6.0 / (n_in + n_out));
      const float* p = var->cast_data_and_get_pointer<float>(Context{});
      const bool is_bias = name.back() == 'b';
      double max_abs = 0;
      for (int64_t i = 0; i < var->size(); ++i) max_abs = std::max(max_abs, double(std::fabs(p[i])));
      if (is_bias && !fan_in) {
        CHECK_EQ(max_abs, 0.0);
      } else {
        CHECK(max_abs <= lim);
        CHECK(max_abs > 0.5 * lim);  // the draws fill the range
      }
    }
  }
}

TEST(bad_configs_and_states_are_refused) {
  VaeConfig c = small_config();
  c.init = "he";
  CHECK_THROWS_WITH(c.validate(), "unknown init 'he': choose glorot or fan-in");
  c = small_config();
  c.batch_size = 0;
  CHECK_THROWS_WITH(c.validate(), "batch size must be >= 1, got 0");
  c = small_config();
  CHECK_THROWS_WITH(VaeTrainer(c, synthetic_digits(10, 1), synthetic_digits(5, 2)), "batch size 20 is larger than the training set (10 images)");
  c.learning_rate = -1;
  CHECK_THROWS_WITH(c.validate(), "learning rate must be a finite number > 0");
  CHECK_THROWS_WITH(parse_graph_mode("eager"), "unknown graph mode 'eager'");
  CHECK_THROWS_WITH(ImageSet(std::vector<uint8_t>(100), 1), "100 bytes do not make 1 images");

  VaeTrainer t(small_config(), synthetic_digits(200, 1), synthetic_digits(40, 2));
  auto s = t.state();
  s.order = {1, 2, 3};
  CHECK_THROWS_WITH(t.set_state(s), "the shuffle order has 3 entries for 200 training images");
  s = t.state();
  s.noise_generator = "garbage";
  CHECK_THROWS_WITH(t.set_state(s), "corrupt");
}

TEST(evaluation_functions) {
  VaeConfig c = small_config();
  c.iterations = 300;
  auto test = synthetic_digits(50, 3);
  VaeTrainer t(c, synthetic_digits(300, 1), test);
  t.train(300);
  auto p = t.parameters();
  // Fixed seed: the same figure twice; a batch remainder (50 = 2·20 + 10) is weighted by its size.
  double e1 = negative_elbo(p, c.latent, c.hidden, test, 20, 7), e2 = negative_elbo(p, c.latent, c.hidden, test, 20, 7);
  CHECK_EQ(e1, e2);
  double e50 = negative_elbo(p, c.latent, c.hidden, test, 50, 7);
  CHECK_NEAR(e1, e50, 0.05);
  // k = 1 is a one-sample ELBO; more samples tighten the bound (lower NLL).
  double k1 = importance_weighted_nll(p, c.latent, c.hidden, test, 1, 11);
  double k50 = importance_weighted_nll(p, c.latent, c.hidden, test, 50, 11);
  std::printf("negative ELBO %.3f, IW-NLL k=1 %.3f, k=50 %.3f\n", e1, k1, k50);
  CHECK_NEAR(k1, e1, 0.05);
  CHECK(k50 < k1);
  CHECK(k50 > 0.8 * k1);

  std::vector<float> mu, logvar;
  encode(p, c.latent, c.hidden, test, mu, logvar);
  CHECK_EQ(mu.size(), size_t(50 * c.latent));
  auto probs = decode(p, c.latent, c.hidden, mu);
  CHECK_EQ(probs.size(), size_t(50 * kPixels));
  // Decoding the posterior mean reconstructs the strokes: the bright pixels
  // of image 0 get high probability, the dark ones low.
  double on = 0, off = 0;
  int n_on = 0, n_off = 0;
  for (int i = 0; i < kPixels; ++i) {
    if (test.pixels[i] >= 128) on += probs[i], ++n_on;
    else off += probs[i], ++n_off;
  }
  std::printf("mean probability on strokes %.3f, off %.3f\n", on / n_on, off / n_off);
  CHECK(on / n_on > 0.7 && off / n_off < 0.1);

  ParameterDirectory empty;
  CHECK_THROWS_WITH(negative_elbo(empty, c.latent, c.hidden, test), "fc1/affine/W missing (expected (784, 64))");
  CHECK_THROWS_WITH(negative_elbo(p, c.latent, 65, test), "fc1/affine/W is (784, 64), expected (784, 65)");
}

namespace {

void put_u32(std::ofstream& f, uint32_t v) {
  const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  f.write(b, 4);
}

// The four MNIST file names in `folder`, holding n_train / n_test synthetic
// images (uncompressed IDX) and labels 0: the fixture of the train_vae ctest.
int write_idx_fixture(const std::string& folder) {
  const std::pair<const char*, int64_t> splits[] = {{"train", 300}, {"t10k", 60}};
  for (auto& [prefix, n] : splits) {
    ImageSet set = synthetic_digits(n, prefix[0] == 't' ? 2 : 1);
    std::ofstream img(folder + "/" + prefix + "-images-idx3-ubyte", std::ios::binary);
    put_u32(img, 0x00000803);
    put_u32(img, static_cast<uint32_t>(n));
    put_u32(img, kRows);
    put_u32(img, kCols);
    img.write(reinterpret_cast<const char*>(set.pixels.data()), static_cast<std::streamsize>(set.pixels.size()));
    std::ofstream lab(folder + "/" + prefix + "-labels-idx1-ubyte", std::ios::binary);
    put_u32(lab, 0x00000801);
    put_u32(lab, static_cast<uint32_t>(n));
    lab.write(std::string(n, '\0').data(), n);
    if (!img || !lab) {
      std::fprintf(stderr, "cannot write the IDX fixture into %s\n", folder.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace

// `test_vae_training --write-idx-fixture DIR` writes the fixture instead of testing.
int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--write-idx-fixture") return write_idx_fixture(argv[2]);
  return nnvae_test::run_all();
}
