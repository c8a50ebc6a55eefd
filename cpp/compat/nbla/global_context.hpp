// nbla::GlobalContext over nnvae: the context functions would be created in.
// nnvae computes on "cpu:float" only, so setting it checks the context
// (another backend is refused with a clear error) and remembers it.
#pragma once
#include <nbla/context.hpp>

namespace nbla {
class GlobalContext {
 public:
  void set_current_context(const Context& ctx) {
    check_context(ctx);
    ctx_ = ctx;
  }
  Context get_current_context() const { return ctx_; }

 private:
  Context ctx_;
};
}  // namespace nbla
