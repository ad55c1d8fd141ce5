// Parse + validate + assemble of whole specs, through real plugins loaded from the build tree.
// Targets: an 8-device spec under 200 us; 1000 devices grows linearly, under 50 ms.
#include <vzkit/kernel/assemble.hpp>
#include <vzkit/kernel/validate.hpp>

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

#include <stdexcept>

namespace {

using namespace vzkit::kernel;
namespace json = boost::json;

const PluginHost& host() {
  static PluginHost h = [] {
    PluginHost p;
    p.load({{VZKIT_PLUGINS_DIR, "bench"}});
    return p;
  }();
  return h;
}

// Device entries that exercise different plugins; only those whose plugin is loaded are used.
std::vector<json::object> device_mix() {
  const char* candidates[] = {
      R"({"plugin": "entropy"})",
      R"({"plugin": "virtio-blk", "path": "disk.img", "read_only": true})",
      R"({"plugin": "network", "mode": "nat"})",
      R"({"plugin": "serial-console", "mode": "file", "path": "console.log"})",
      R"({"plugin": "virtiofs", "tag": "share", "path": "."})",
      R"({"plugin": "virtio-gpu", "width": 1280, "height": 720})",
      R"({"plugin": "keyboard"})",
  };
  std::vector<json::object> out;
  for (const char* c : candidates) {
    auto v = json::parse(c).as_object();
    if (host().find(v.at("plugin").as_string())) out.push_back(v);
  }
  if (out.empty()) throw std::runtime_error("no plugins found in " VZKIT_PLUGINS_DIR);
  return out;
}

std::string make_spec(int devices) {
  json::array list;
  list.push_back(json::object{{"plugin", "linux-boot"}, {"kernel", "vmlinuz"}, {"command_line", "console=ttyS0"}});
  const auto mix = device_mix();
  for (int i = 1; i < devices; ++i) {
    json::object d = mix[static_cast<std::size_t>(i) % mix.size()];
    // Unique values where plugins demand them.
    if (d.contains("tag")) d["tag"] = "share" + std::to_string(i);
    if (d.at("plugin") == "network" || d.at("plugin") == "virtio-gpu" || d.at("plugin") == "keyboard") d = mix[0];
    list.push_back(std::move(d));
  }
  return json::serialize(json::object{{"name", "bench"}, {"cpus", 2}, {"memory", "1GiB"}, {"devices", list}});
}

void pipeline(benchmark::State& state) {
  const std::string text = make_spec(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto parsed = parse_spec(text, "bench.json", "/tmp");
    ValidateOptions vo;
    vo.engine = "qemu";
    vo.run_plugin_rules = true;
    auto diags = validate(*parsed.spec, host(), vo);
    AssembleOptions ao;
    ao.engine = "qemu";
    auto plan = assemble(*parsed.spec, host(), ao);
    benchmark::DoNotOptimize(plan.model);
    benchmark::DoNotOptimize(diags);
  }
  state.SetComplexityN(state.range(0));
}

}  // namespace

BENCHMARK(pipeline)->Arg(8)->Arg(125)->Arg(1000)->Unit(benchmark::kMicrosecond)->Complexity(benchmark::oN);
BENCHMARK_MAIN();
