#pragma once
// Private helper for the threads that own a ZeroMQ socket: bind on the owning thread and hand the
// bound endpoint (or a clear error) back to the constructor waiting on `bound`.
#include <zmq.hpp>

#include <future>
#include <stdexcept>
#include <string>

namespace actiond::daemon::detail {

// Returns false (and sets the promise's exception, naming `what` and the endpoint) if the bind fails.
inline bool bind_and_report(zmq::socket_t& sock, const std::string& endpoint, const std::string& what,
                            std::promise<std::string>& bound) {
  try {
    sock.bind(endpoint);
    bound.set_value(sock.get(zmq::sockopt::last_endpoint));
    return true;
  } catch (const zmq::error_t& e) {
    bound.set_exception(std::make_exception_ptr(std::runtime_error(what + " " + endpoint + ": " + e.what())));
    return false;
  }
}

}  // namespace actiond::daemon::detail
