#pragma once
// Private: the web timeline's static files (daemon/api/web), built into the binary by embed.cmake so
// the daemon serves them with no install path to get wrong.
#include <string>
#include <vector>

namespace actiond::daemon::detail {

struct WebAsset {
  std::string path;  // "index.html", "app.js", ...
  std::string content_type;
  std::string data;
};

const std::vector<WebAsset>& web_assets();

}  // namespace actiond::daemon::detail
