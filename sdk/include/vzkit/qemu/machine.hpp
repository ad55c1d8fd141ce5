// The QEMU object model: a machine and the -device/-blockdev/-netdev/-chardev/-object entries
// and helper processes (virtiofsd) that make it up. Plugins fill it in; bridge/qemu renders it
// to argv and runs it. It round-trips losslessly through Boost.JSON; the rendering and the JSON
// mapping are compiled once into the SDK library (sdk/src/qemu_model.cpp, libvzkit_sdk.a).
#pragma once

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vzkit::qemu {

/// Ordered key=value properties of one QEMU option (order is kept on the command line). A key
/// may repeat (hostfwd=); keep a repeated key's entries next to each other, which is the form
/// they come back in from JSON.
using Properties = std::vector<std::pair<std::string, std::string>>;

/// Which spec entry produced an object; stamped by the kernel, used to name the device in errors.
struct Origin {
  std::string plugin;
  std::string path;
  bool operator==(const Origin&) const = default;
};

/// `-device DRIVER,k=v,...`
struct Device {
  std::string driver;
  Properties properties;
  std::optional<Origin> origin;
  bool operator==(const Device&) const = default;
};

/// A typed backend: `-netdev TYPE,k=v`, `-chardev TYPE,k=v`, `-object TYPE,k=v`,
/// `-blockdev driver=TYPE,k=v`, `-drive k=v` (type empty). The id lives in `properties`.
struct Backend {
  std::string type;
  Properties properties;
  std::optional<Origin> origin;
  bool operator==(const Backend&) const = default;
};

/// `-global DRIVER.PROPERTY=VALUE`
struct Global {
  std::string driver;
  std::string property;
  std::string value;
  bool operator==(const Global&) const = default;
};

/// Direct kernel boot: `-kernel -initrd -append`.
struct KernelBoot {
  std::string kernel;
  std::optional<std::string> initrd;
  std::string append;
  bool operator==(const KernelBoot&) const = default;
};

/// A process the machine needs running before QEMU starts (for example virtiofsd).
/// `socket`, when set, is a unix socket the helper creates and QEMU connects to; the engine
/// waits for it to appear before starting QEMU.
struct Helper {
  std::string name;
  std::vector<std::string> argv;
  std::optional<std::string> socket;
  std::optional<Origin> origin;
  bool operator==(const Helper&) const = default;
};

/// The whole machine. Optional scalars are unset until a plugin or the kernel sets them, so that
/// fragments from several plugins merge (objects key by key, arrays appended).
struct Machine {
  std::optional<std::string> binary;      ///< qemu-system-x86_64, qemu-system-aarch64
  std::optional<std::string> type;        ///< q35, microvm, virt
  std::optional<std::string> accel;       ///< tcg, kvm, hvf
  std::optional<std::string> cpu;         ///< -cpu
  /// CPU properties appended to -cpu (e.g. "vmx=on"), so several plugins can each add one while
  /// the kernel picks the model; with no cpu set they apply to QEMU's default, qemu64.
  std::vector<std::string> cpu_features;
  std::optional<std::uint64_t> smp;       ///< -smp
  std::optional<std::uint64_t> memory_mib;  ///< -m
  Properties machine_properties;          ///< extra -machine properties (smm=on, memory-backend=mem)
  std::optional<KernelBoot> kernel;
  std::vector<Backend> drives;    ///< -drive (pflash firmware)
  std::vector<Backend> blockdevs;
  std::vector<Backend> netdevs;
  std::vector<Backend> chardevs;
  std::vector<Backend> objects;
  std::vector<Device> devices;
  std::vector<Global> globals;
  std::vector<std::string> serial;  ///< -serial values (chardev:ID)
  std::vector<Helper> helpers;
  bool operator==(const Machine&) const = default;
};

/// Value of a property, or nullptr when absent.
inline const std::string* find_property(const Properties& props, std::string_view key) {
  for (const auto& [k, v] : props)
    if (k == key) return &v;
  return nullptr;
}

// ---- rendering ----

/// QEMU's option syntax escapes a comma inside a value by doubling it.
std::string escape_value(std::string_view v);

/// `head,k=v,...` with each value escaped.
std::string join_properties(std::string head, const Properties& props);

/// Removes entries that two plugins added identically (two USB devices both asking for the xHCI
/// controller, two shares both asking for shared guest memory). Origin is ignored; the first
/// entry is kept.
void remove_duplicates(Machine& m);

/// The QEMU command line for the machine (argv[0] is the binary). The engine adds its own
/// run-time options (QMP socket, display) after these.
std::vector<std::string> to_argv(const Machine& m);

// ---- JSON (found by ADL from boost::json::value_from / value_to) ----

/// Writes `m` into `jv`, in jv's own storage (an arena, when the caller passes one).
void tag_invoke(const boost::json::value_from_tag&, boost::json::value& jv, const Machine& m);
/// Parses a machine strictly: unknown keys and wrong types throw std::invalid_argument naming the key.
Machine tag_invoke(const boost::json::value_to_tag<Machine>&, const boost::json::value& jv);

}  // namespace vzkit::qemu
