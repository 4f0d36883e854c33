#pragma once
// `actiond keygen --out PREFIX`: a CURVE key pair for the daemon or a client, as Z85 text files:
// PREFIX.key (secret, mode 0600) and PREFIX.pub (public). Refuses to overwrite existing files.
#include <ostream>
#include <string>

namespace actiond::tools {

int run_keygen(const std::string& prefix, std::ostream& out);

}  // namespace actiond::tools
