#pragma once
// Private helpers shared by the pipeline sources: one-time gst_init and RAII handles.
#include <gst/gst.h>

#include <memory>

namespace actiond::pipeline::detail {

void ensure_gst_initialized();

// Creates an element; throws naming the factory when its plugin is missing.
GstElement* make_element(const char* factory);
// Sets the "caps" property (capsfilter, appsrc) and drops our reference.
void set_caps_property(GstElement* element, GstCaps* caps);
bool has_property(gpointer obj, const char* name);

struct GstObjectUnref {
  void operator()(gpointer p) const { if (p != nullptr) gst_object_unref(p); }
};
struct GstMessageUnref {
  void operator()(GstMessage* m) const { if (m != nullptr) gst_message_unref(m); }
};
struct GErrorFree {
  void operator()(GError* e) const { if (e != nullptr) g_error_free(e); }
};
struct GFree {
  void operator()(gpointer p) const { g_free(p); }
};

using ElementPtr = std::unique_ptr<GstElement, GstObjectUnref>;
using BusPtr = std::unique_ptr<GstBus, GstObjectUnref>;
using PadPtr = std::unique_ptr<GstPad, GstObjectUnref>;
using MessagePtr = std::unique_ptr<GstMessage, GstMessageUnref>;
using ErrorPtr = std::unique_ptr<GError, GErrorFree>;
using CharPtr = std::unique_ptr<gchar, GFree>;

}  // namespace actiond::pipeline::detail
