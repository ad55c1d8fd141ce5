// What a command's SPEC|VM argument names: a spec file, a VM by name, or a VM's own spec.json.
#include "host_impl.hpp"

#include <vzkit/kernel/closest.hpp>

#include <boost/json.hpp>

#include <fstream>

namespace vzkit::host::detail {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// At most one byte more than a spec may have: parsing refuses anything larger, and a huge file
// given by mistake is not read whole. Read in pieces: a buffer of the largest size, zeroed for
// every spec read, cost more than the rest of `vzkit validate`.
std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string text;
  char piece[1 << 16];
  while (in && text.size() <= kernel::kMaxSpecBytes) {
    in.read(piece, sizeof piece);
    text.append(piece, static_cast<std::size_t>(in.gcount()));
  }
  if (text.size() > kernel::kMaxSpecBytes + 1) text.resize(kernel::kMaxSpecBytes + 1);
  return text;
}

SpecSource of_bundle(kernel::Bundle b) {
  SpecSource s{read_text(b.spec_file()), b.spec_file().string(), b.spec_dir(), std::move(b)};
  return s;
}

bool looks_like_a_path(const std::string& t) {
  return t.find('/') != std::string::npos || (t.size() > 5 && t.compare(t.size() - 5, 5, ".json") == 0);
}

}  // namespace

std::optional<SpecSource> read_spec_source(const std::string& target, kernel::Diagnostic& why) {
  std::error_code ec;
  if (fs::is_regular_file(target, ec))
    if (auto b = kernel::bundle_of_spec_file(target)) return of_bundle(std::move(*b));
  if (!looks_like_a_path(target) && kernel::valid_vm_name(target) && !fs::exists(fs::symlink_status(target, ec))) {
    std::string err;
    if (auto b = kernel::open_bundle(target, err)) return of_bundle(std::move(*b));
    why = {};
    why.code = "spec.unreadable";
    why.file = target;
    if (fs::is_directory(kernel::vms_dir() / target, ec)) {  // there, but damaged
      why.message = err;
      why.hint = "delete the folder, or repair its bundle.json";
      return std::nullopt;
    }
    std::vector<std::string> names;
    for (const auto& b : kernel::list_bundles()) names.push_back(b.name);
    why.message = "no spec file or VM named '" + target + "'";
    const auto near = kernel::closest(target, names);
    why.hint = near.empty() ? "give a spec file (such as examples/linux-direct.json) or the name of a VM in " +
                                  kernel::vms_dir().string() + " (`vzkit list` shows them)"
                            : "did you mean the VM '" + near + "'?";
    return std::nullopt;
  }
  // A spec file: the kernel's reading refuses what must not be read (a FIFO, a folder, a huge file).
  auto loaded = kernel::load_spec(target);
  if (!loaded.spec)
    for (const auto& d : loaded.diagnostics)
      if (d.code == "spec.unreadable") {
        why = d;
        return std::nullopt;
      }
  return SpecSource{read_text(target), target, fs::absolute(target, ec).parent_path(), std::nullopt};
}

std::string spec_name(const std::string& text) {
  try {
    const auto v = json::parse(text);
    if (const auto* o = v.if_object())
      if (const auto* n = o->if_contains("name"); n && n->is_string()) return std::string(n->get_string());
  } catch (const std::exception&) {
  }
  return {};
}

}  // namespace vzkit::host::detail
