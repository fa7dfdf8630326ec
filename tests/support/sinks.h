#pragma once
// Sinks for tests: every output kept, with typed views.
#include <vector>

#include "base/records.h"

namespace boxcall::test {

class CollectingSink final : public OutputSink {
 public:
  void emit(Output&& out) override { outputs.push_back(std::move(out)); }
  template <typename T>
  [[nodiscard]] std::vector<T> of() const {
    std::vector<T> r;
    for (const auto& o : outputs) {
      if (const auto* t = std::get_if<T>(&o)) r.push_back(*t);
    }
    return r;
  }
  std::vector<Output> outputs;
};

}  // namespace boxcall::test
