#include "gst/gst_util.hpp"

#include <mutex>
#include <stdexcept>
#include <string>

namespace actiond::pipeline::detail {

void ensure_gst_initialized() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

GstElement* add_element(GstBin* bin, const char* factory) {
  GstElement* e = gst_element_factory_make(factory, nullptr);
  if (e == nullptr) throw std::runtime_error(std::string("GStreamer element ") + factory + " is missing (run scripts/install-deps.sh)");
  if (!gst_bin_add(bin, e)) {  // never for a fresh element with a unique name
    throw std::runtime_error(std::string("cannot add GStreamer element ") + factory + " to " + GST_OBJECT_NAME(bin));
  }
  return e;
}

void set_caps_property(GstElement* element, GstCaps* caps) {
  g_object_set(element, "caps", caps, nullptr);
  gst_caps_unref(caps);
}

bool has_property(gpointer obj, const char* name) {
  return g_object_class_find_property(G_OBJECT_GET_CLASS(obj), name) != nullptr;
}

}  // namespace actiond::pipeline::detail
