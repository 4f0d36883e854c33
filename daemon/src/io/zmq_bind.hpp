#pragma once
// Private helper for the threads that own a ZeroMQ socket: bind on the owning thread and hand the
// bound endpoint (or a clear error) back to the constructor waiting on `bound`.
#include <zmq.hpp>

#include <future>
#include <stdexcept>
#include <string>
#include <vector>

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

// Receives one multipart message into `frames` (cleared first). Returns false when nothing arrived
// within the socket's receive timeout. Throws zmq::error_t like recv().
inline bool recv_multipart(zmq::socket_t& sock, std::vector<zmq::message_t>& frames) {
  frames.clear();
  zmq::message_t msg;
  if (!sock.recv(msg)) return false;
  frames.push_back(std::move(msg));
  while (frames.back().more()) {
    zmq::message_t part;
    if (!sock.recv(part)) break;
    frames.push_back(std::move(part));
  }
  return true;
}

}  // namespace actiond::daemon::detail
