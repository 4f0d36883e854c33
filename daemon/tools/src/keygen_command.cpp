#include "actiond/tools/keygen.hpp"

#include <zmq.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace actiond::tools {

int run_keygen(const std::string& prefix, std::ostream& out) {
  char pub[41] = {};
  char secret[41] = {};
  if (zmq_curve_keypair(pub, secret) != 0) {
    throw std::runtime_error("keygen: this libzmq has no CURVE support (built without libsodium)");
  }
  const std::string key_file = prefix + ".key";
  const std::string pub_file = prefix + ".pub";
  for (const auto& f : {key_file, pub_file}) {
    if (std::filesystem::exists(f)) throw std::runtime_error("keygen: " + f + " exists; not overwriting it");
  }
  {
    std::ofstream k(key_file);
    if (!k) throw std::runtime_error("keygen: cannot write " + key_file);
    std::filesystem::permissions(key_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    k << "# actiond CURVE secret key (Z85); keep it private\n" << secret << "\n";
  }
  std::ofstream p(pub_file);
  if (!p) throw std::runtime_error("keygen: cannot write " + pub_file);
  p << "# actiond CURVE public key (Z85)\n" << pub << "\n";
  out << "wrote " << key_file << " (secret) and " << pub_file << " (public: " << pub << ")\n";
  return 0;
}

}  // namespace actiond::tools
