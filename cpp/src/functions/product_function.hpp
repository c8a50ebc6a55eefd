// What the functions built on matrix products share (affine, convolution,
// deconvolution; private to the engine): the buffers of their backward
// pass, and the plumbing that lets a product run an elementwise function's
// epilogue on its finished blocks (graph.hpp, fusion).
#pragma once
#include <vector>

#include "common.hpp"
#include "nnvae/graph.hpp"
#include "nnvae/kernels/matmul.hpp"

namespace nnvae {
namespace detail {

// The buffers of the backward pass of y = f(x, W[, b]): dy; the gradients
// asked for (null where not propagated), each written, or added to when its
// acc_ is set; x's data where W's gradient is asked for and W's where x's is
// (null otherwise: the products read nothing else).
struct ProductGrads {
  const float* dy = nullptr;
  float* dx = nullptr;
  float* dw = nullptr;
  float* db = nullptr;
  const float* x = nullptr;
  const float* w = nullptr;
  bool acc_x = false, acc_w = false, acc_b = false;
};

// The buffers above from the inputs (x, W[, b]), the output and backward's
// propagate_down and accumulate; the gradients are taken in input order.
inline ProductGrads product_grads(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                                  const std::vector<bool>& acc) {
  const bool want_b = in.size() == 3 && prop[2];
  ProductGrads g;
  g.dy = in_grad(out);
  g.dx = prop[0] ? in_grad_for(in[0], acc[0]) : nullptr;
  g.dw = prop[1] ? in_grad_for(in[1], acc[1]) : nullptr;
  g.db = want_b ? in_grad_for(in[2], acc[2]) : nullptr;
  g.x = prop[1] ? in_data(in[0]) : nullptr;
  g.w = prop[0] ? in_data(in[1]) : nullptr;
  g.acc_x = prop[0] && acc[0];
  g.acc_w = prop[1] && acc[1];
  g.acc_b = want_b && acc[2];
  return g;
}

// A function of (x, W[, b]) whose output and x's gradient come out of
// products block by block, each block final when written, so that an
// epilogue can run on it: forward and backward are run_forward and
// run_backward with no epilogue, forward_with and backward_with (input 0
// only) with one. Backward reads x and W, not y.
class EpilogueProduct : public Function {
 public:
  void forward(const std::vector<Variable*>& in, Variable* out) override { run_forward(in, out, nullptr); }
  bool accepts_forward_epilogue() const override { return true; }
  void forward_with(const std::vector<Variable*>& in, Variable* out, const kernels::Epilogue& ep) override {
    run_forward(in, out, &ep);
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    run_backward(in, out, prop, acc, nullptr);
  }
  bool accepts_grad_epilogue(int input) const override { return input == 0; }
  void backward_with(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                     const std::vector<bool>& acc, int /*input 0*/, const kernels::Epilogue& ep) override {
    run_backward(in, out, prop, acc, &ep);
  }
  bool backward_needs_input_data(int i) const override { return i < 2; }

 protected:
  // y = f(x, W[, b]), then ep (if given) on each of y's blocks once final.
  virtual void run_forward(const std::vector<Variable*>& in, Variable* out, const kernels::Epilogue* ep) = 0;
  // The gradients, then dx_ep (if given) on each of dx's blocks once final.
  virtual void run_backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                            const std::vector<bool>& acc, const kernels::Epilogue* dx_ep) = 0;
};

}  // namespace detail
}  // namespace nnvae
