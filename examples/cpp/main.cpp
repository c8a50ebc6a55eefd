#include <nnvae/nnvae.hpp>
#include <cstdio>
using namespace nnvae;
namespace f = nnvae::functions;
namespace pf = nnvae::parametric_functions;

int main() {
  Context ctx{{"cpu:float"}, "CpuCachedArray", "0"};
  ParameterDirectory parameters;
  auto x = std::make_shared<CgVariable>(Shape_t{100, 1, 28, 28}, false);
  auto h = f::elu(pf::affine(x, 1, 500, parameters["fc1"]), 1.0);
  auto y = pf::affine(h, 1, 10, parameters["fc2"]);
  auto loss = f::mean(f::sum(y * y, {1}, false), {0}, false);

  float* pixels = x->variable()->cast_data_and_get_pointer<float>(ctx, /*write_only=*/true);
  for (int64_t i = 0; i < x->variable()->size(); ++i) pixels[i] = (i % 28) / 28.0f;

  auto solver = create_AdamSolver(ctx, 1e-3f, 0.9f, 0.999f, 1e-8f);
  solver->set_parameters(parameters.get_parameters());
  for (int step = 1; step <= 20; ++step) {
    solver->zero_grad();
    loss->forward(/*clear_buffer=*/false, /*clear_no_need_grad=*/true);
    loss->variable()->grad()->fill(1.0);
    loss->backward(/*grad=*/nullptr, /*clear_buffer=*/true);
    solver->update();
    if (step % 5 == 0)
      std::printf("step %d: loss %f\n", step, loss->variable()->cast_data_and_get_pointer<float>(ctx)[0]);
  }
  save_parameters(parameters, "example.protobuf");  // NNabla's parameter file
  ParameterDirectory loaded;
  load_parameters(loaded, "example.protobuf");
  long long values = 0, equal = 0;
  for (auto& [name, v] : parameters.get_parameters()) {
    const float* a = v->cast_data_and_get_pointer<float>(ctx);
    const float* b = loaded.get_parameter(name)->variable()->cast_data_and_get_pointer<float>(ctx);
    for (int64_t i = 0; i < v->size(); ++i, ++values) equal += a[i] == b[i];
  }
  std::printf("saved %zu parameters to example.protobuf, loaded %zu back: %lld of %lld values equal\n",
              parameters.get_parameters().size(), loaded.get_parameters().size(), equal, values);
}
