#pragma once
// Private helpers shared by the pipeline library: one-time gst_init, element creation and RAII handles.
#include <gst/gst.h>

#include <memory>

namespace actiond::pipeline::detail {

void ensure_gst_initialized();

// Creates an element and adds it to `bin` at once, so the bin owns it and nothing leaks when a
// later element of the same graph cannot be created; throws naming the factory when its plugin is
// missing. The returned pointer is borrowed from the bin.
GstElement* add_element(GstBin* bin, const char* factory);
// Sets the "caps" property (capsfilter, appsrc) and drops our reference.
void set_caps_property(GstElement* element, GstCaps* caps);
bool has_property(gpointer obj, const char* name);

struct GstObjectUnref {
  void operator()(gpointer p) const { if (p != nullptr) gst_object_unref(p); }
};
struct GstMessageUnref {
  void operator()(GstMessage* m) const { if (m != nullptr) gst_message_unref(m); }
};
struct GstSampleUnref {
  void operator()(GstSample* s) const { if (s != nullptr) gst_sample_unref(s); }
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
using SamplePtr = std::unique_ptr<GstSample, GstSampleUnref>;
using ErrorPtr = std::unique_ptr<GError, GErrorFree>;
using CharPtr = std::unique_ptr<gchar, GFree>;

}  // namespace actiond::pipeline::detail
