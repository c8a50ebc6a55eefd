// The computation graph: CgVariable (a node holding a Variable) and the
// Function it was computed by.
//
// Building an expression creates nodes and computes output shapes at once.
// forward() on a variable runs the functions leading to it in dependency
// order; backward() runs their backward passes in reverse order, seeded from
// the variable's grad. Gradients of leaves (parameters and inputs) accumulate
// across backward calls until zeroed; gradients of intermediate variables are
// overwritten by each backward pass.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nnvae/array.hpp"

namespace nnvae {

namespace kernels {
struct Epilogue;  // nnvae/kernels/matmul.hpp
}

// An operation: shape inference plus forward and backward kernels calls.
// Every function in nnvae has exactly one output.
class Function {
 public:
  virtual ~Function() = default;
  virtual std::string name() const = 0;
  // Checks the input shapes and returns the output shape; throws
  // std::invalid_argument naming the shapes when they do not fit.
  virtual Shape_t setup(const std::vector<Shape_t>& inputs) = 0;
  virtual void forward(const std::vector<Variable*>& inputs, Variable* output) = 0;
  // Adds (accumulate[i]) or writes the gradient of input i where
  // propagate_down[i]; computes input 0's gradient fully before input 1's.
  virtual void backward(const std::vector<Variable*>& inputs, Variable* output,
                        const std::vector<bool>& propagate_down, const std::vector<bool>& accumulate) = 0;
  // Whether a gradient flows to input i at all (randn, greater_equal_scalar,
  // the target of sigmoid_cross_entropy: no).
  virtual bool differentiable(int /*input*/) const { return true; }
  // What backward reads, so that forward(clear_no_need_grad) can free the rest.
  virtual bool backward_needs_input_data(int /*input*/) const { return true; }
  virtual bool backward_needs_output_data() const { return false; }
  // Output shares the first input's buffer (reshape inplace).
  virtual bool shares_input_buffer() const { return false; }

  // Fusion. The graph may run an elementwise function as the finish of the
  // product that computes its input (forward), or the product that writes its
  // output's gradient last (backward), block by block while the block is in
  // cache; every value and gradient comes out as with separate calls. An
  // epilogue's `c` is the base of the buffer the product writes, element
  // (r, col) of a block at c[r·ldc + col]: the flat index of that element in
  // every buffer of the same shape.
  //
  // As the elementwise function: an epilogue that computes the output from
  // blocks of input 0 (forward), or that writes (accumulate: adds to) input
  // 0's gradient from blocks of the output's gradient (backward); null when
  // this function cannot run as one. Owned by this function, valid until its
  // next call.
  virtual const kernels::Epilogue* forward_epilogue(const std::vector<Variable*>& /*inputs*/, Variable* /*output*/) {
    return nullptr;
  }
  virtual const kernels::Epilogue* backward_epilogue(const std::vector<Variable*>& /*inputs*/, Variable* /*output*/,
                                                     bool /*accumulate*/) {
    return nullptr;
  }
  // As the product: whether forward_with runs `ep` once on every block of the
  // output; whether backward_with runs it on every block of input `input`'s
  // gradient (when propagated) once that block is final.
  virtual bool accepts_forward_epilogue() const { return false; }
  virtual bool accepts_grad_epilogue(int /*input*/) const { return false; }
  // (The defaults throw std::logic_error: only called where accepted.)
  virtual void forward_with(const std::vector<Variable*>& inputs, Variable* output, const kernels::Epilogue& ep);
  virtual void backward_with(const std::vector<Variable*>& inputs, Variable* output,
                             const std::vector<bool>& propagate_down, const std::vector<bool>& accumulate,
                             int input, const kernels::Epilogue& ep);
};

class CgVariable;
using CgVariablePtr = std::shared_ptr<CgVariable>;
// The order forward and backward run a graph in, kept by the variable they
// are called on while the graph stays as it is (graph.cpp).
struct ExecutionPlan;

// A function placed in a graph, with the variables it reads.
struct CgFunction {
  std::unique_ptr<Function> function;
  std::vector<CgVariablePtr> inputs;
};
using CgFunctionPtr = std::shared_ptr<CgFunction>;

class CgVariable : public std::enable_shared_from_this<CgVariable> {
 public:
  explicit CgVariable(Shape_t shape, bool need_grad = false);
  CgVariable(VariablePtr variable, bool need_grad);
  // Releases the graph behind this variable iteratively, so that dropping a
  // chain tens of thousands of functions long cannot overflow the stack.
  ~CgVariable();

  VariablePtr variable() const { return variable_; }
  const Shape_t& shape() const { return variable_->shape(); }

  // For a leaf: whether backward computes its gradient. For a function's
  // output: whether any input needs one (set when the graph is built).
  bool need_grad() const { return need_grad_; }
  // Changing need_grad or a parent changes which graphs' execution plans
  // still hold: both make every variable plan again on its next run.
  void set_need_grad(bool need_grad);
  // A persistent variable keeps its buffers when clear_buffer frees others.
  bool persistent() const { return persistent_; }
  void set_persistent(bool persistent) { persistent_ = persistent; }

  CgFunctionPtr parent() const { return parent_; }
  void set_parent(CgFunctionPtr parent);

  // Runs every function this variable depends on, in order.
  // clear_buffer frees intermediate data once no later function reads it (for
  // inference); clear_no_need_grad frees only what backward will not need.
  void forward(bool clear_buffer = false, bool clear_no_need_grad = false);
  // Back-propagates from this variable, seeded from `grad` if given, else from
  // this variable's own grad buffer (which must have been set, e.g. fill(1)).
  // clear_buffer frees intermediate data and gradients once used.
  void backward(NdArrayPtr grad = nullptr, bool clear_buffer = false);

 private:
  // This variable's plan, made anew when the graph changed since.
  const ExecutionPlan& plan();

  VariablePtr variable_;
  CgFunctionPtr parent_;
  bool need_grad_;
  bool persistent_ = false;
  std::unique_ptr<ExecutionPlan> plan_;
};

CgVariablePtr make_parameter(Shape_t shape, bool need_grad = true);

// Dynamic graphs: with auto-forward on, each function runs when it is created.
// The setting is process-wide; a ThreadAutoForwardScope overrides it on its
// own thread only (the VAE trainer's graphs), and get_auto_forward() answers
// for the calling thread.
void set_auto_forward(bool on);
bool get_auto_forward();
class ThreadAutoForwardScope {
 public:
  explicit ThreadAutoForwardScope(bool on);
  ~ThreadAutoForwardScope();
  ThreadAutoForwardScope(const ThreadAutoForwardScope&) = delete;
  ThreadAutoForwardScope& operator=(const ThreadAutoForwardScope&) = delete;

 private:
  int saved_;
};

// Places `function` in the graph with `inputs` and returns its output (shape
// computed now; computed values too when auto-forward is on).
CgVariablePtr connect(std::unique_ptr<Function> function, std::vector<CgVariablePtr> inputs);

// Fusion of elementwise functions into the products next to them (see
// Function): on by default. Off, every function runs on its own: the same
// values, for tests and measurements. Process-wide.
void set_fusion(bool on);
bool get_fusion();

// Optional per-function timing, for benchmarks (bench_step's `profile`):
// while enabled, every forward and backward the graph runs, and every solver
// update and zero_grad, adds its wall time to an entry named after it (a
// fused pair under both names joined by "+", e.g. "affine+elu"). Off by
// default; when off it costs one test of a flag per call.
namespace profiling {
struct Entry {
  std::string name;
  double forward_seconds = 0, backward_seconds = 0;
  int64_t forward_calls = 0, backward_calls = 0;
};
void set_enabled(bool on);
bool enabled();
void reset();
// Adds one timed call (forward when `backward` is false) to `name`'s entry.
void record(const std::string& name, bool backward, double seconds);
// Every entry, largest total time first.
std::vector<Entry> report();
}  // namespace profiling

}  // namespace nnvae
