#pragma once
// RAII for handles of C libraries (libav, librdkafka, libmosquitto, hiredis, libnats, ...):
//
//   CHandle<redisContext, redisFree> ctx(redisConnect(...));   // redisFree(ctx) when it goes
//   CHandle<AVFrame, free_with_address<AVFrame, av_frame_free>> frame(av_frame_alloc());
//
// Thread-safety: as std::unique_ptr.
#include <memory>

namespace actiond::config {

template <auto Free>
struct CFree {
  template <typename T>
  void operator()(T* p) const {
    if (p != nullptr) Free(p);
  }
};

template <typename T, auto Free>
using CHandle = std::unique_ptr<T, CFree<Free>>;

// For libraries whose free function takes the address of the pointer (av_frame_free(&frame)).
template <typename T, void (*FreeAt)(T**)>
void free_with_address(T* p) {
  FreeAt(&p);
}

}  // namespace actiond::config
