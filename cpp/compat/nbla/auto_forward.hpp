// nbla::AutoForward over nnvae: the dynamic-graph switch is nnvae's
// set_auto_forward / get_auto_forward (each function runs when created).
#pragma once
#include <nbla/context.hpp>
#include <nnvae/graph.hpp>

namespace nbla {
class AutoForward {
 public:
  void set_auto_forward(bool on) { nnvae::set_auto_forward(on); }
  bool get_auto_forward() const { return nnvae::get_auto_forward(); }
};
}  // namespace nbla
