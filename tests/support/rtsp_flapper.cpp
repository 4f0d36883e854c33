// actiond_rtsp_flapper: a real RTSP server (gst-rtsp-server, live H.264 test pattern) on 127.0.0.1
// that goes away and comes back, for soak runs (scripts/soak.sh). Prints its URI on the first line.
//   actiond_rtsp_flapper [UP_SECONDS [DOWN_SECONDS]]   (defaults 40 and 5; runs until killed)
#include "rtsp_server.hpp"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

int main(int argc, char** argv) {
  const double up = argc > 1 ? std::atof(argv[1]) : 40.0;
  const double down = argc > 2 ? std::atof(argv[2]) : 5.0;
  if (up <= 0 || down <= 0) {
    std::cerr << "usage: actiond_rtsp_flapper [UP_SECONDS [DOWN_SECONDS]] (both > 0)\n";
    return 2;
  }
  actiond::test::RtspTestServer server;
  std::cout << server.uri() << std::endl;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::duration<double>(up));
    server.stop();
    std::this_thread::sleep_for(std::chrono::duration<double>(down));
    server.start();
  }
}
