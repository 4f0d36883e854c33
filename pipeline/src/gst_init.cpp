#include "gst_init.hpp"

#include <mutex>

namespace actiond::pipeline::detail {

void ensure_gst_initialized() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

}  // namespace actiond::pipeline::detail
