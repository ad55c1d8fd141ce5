// serial-console: the guest's serial console, connected to the terminal, a file or a unix socket.
#include <filesystem>
#include <string>
#include <vzkit/plugin.hpp>

namespace {

namespace sdk = vzkit::sdk;
namespace qemu = vzkit::qemu;
namespace vz = vzkit::vz;

constexpr const char* kManifest = R"json({
  "name": "serial-console",
  "version": "1.0.0",
  "summary": "Serial console connected to the terminal, a file or a unix socket",
  "engines": ["vz", "qemu"],
  "vz": {"min_macos": "11.0", "classes": ["VZVirtioConsoleDeviceSerialPortConfiguration", "VZFileHandleSerialPortAttachment",
                                          "VZFileSerialPortAttachment"]},
  "save_restore": {"qemu": true, "vz": true},
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Serial console",
    "description": "The guest's console. The guest device differs by engine, so set the kernel command line to match: console=hvc0 on VZ (a Virtio console), console=ttyS0 on QEMU x86, console=ttyAMA0 on QEMU aarch64 (the machine's own UART, which also shows early boot messages).",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "mode": {
        "title": "Connected to",
        "description": "\"stdio\": the terminal vzkit runs in (input and output); \"file\": guest output is written to path; \"socket\" (QEMU only): a unix socket at path that a client such as `socat - UNIX-CONNECT:PATH` attaches to.",
        "enum": ["stdio", "file", "socket"],
        "default": "stdio"
      },
      "path": {
        "title": "Path",
        "description": "With mode file: the log file; with mode socket: the unix socket QEMU creates (at most 107 bytes). Relative paths are relative to the spec.",
        "type": "string", "minLength": 1,
        "examples": ["console.log", "/tmp/vm-console.sock"]
      },
      "append": {
        "title": "Append",
        "description": "With mode file: add to the end of an existing file instead of starting it afresh.",
        "type": "boolean",
        "default": false
      }
    },
    "examples": [{}, {"mode": "file", "path": "console.log", "append": true}, {"mode": "socket", "path": "console.sock"}]
  }
})json";

/// Linux sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
constexpr std::size_t kMaxSocketPathBytes = 107;

class SerialConsole final : public sdk::Plugin {
 public:
  void validate(const sdk::Config& c, const sdk::Context& ctx, sdk::Diagnostics& out) const override {
    const auto mode = sdk::get_string(c, "mode", "stdio");
    if (mode == "socket" && ctx.engine == "vz")
      out.error("serial-console.socket-on-vz", "mode", "'socket' is not available on VZ",
                "use \"mode\": \"stdio\" for the terminal or \"mode\": \"file\" for a log file");
    if (mode == "stdio") {
      if (c.contains("path"))
        out.warning("serial-console.path-ignored", "path", "is not used with mode 'stdio'",
                    "remove path, or set mode to \"file\" or \"socket\"");
      return;
    }
    // Checked here rather than with a schema if/then, which reports the miss twice.
    if (!c.contains("path")) {
      out.error("serial-console.path-required", "path", "is required with mode '" + mode + "'",
                mode == "file" ? "add \"path\": \"console.log\" (the file that receives the guest's output)"
                               : "add \"path\": \"console.sock\" (the unix socket QEMU creates)");
      return;
    }
    const auto given = sdk::get_string(c, "path");
    const auto path = ctx.resolve(given);
    const auto folder = std::filesystem::path(path).parent_path();
    if (const auto bad = sdk::control_character_in(given))
      out.error("serial-console.invalid-path", "path", "the path holds " + *bad, "paths may not hold control characters");
    else if (sdk::look_at(folder.string()).kind != sdk::PathKind::folder)
      out.error("serial-console.folder-missing", "path", "folder '" + folder.string() + "' does not exist",
                "create it first, or choose a path in an existing folder (relative paths start at the spec's folder)");
    else if (const auto at = sdk::look_at(path); mode == "file" && at.kind != sdk::PathKind::missing &&
                                                  at.kind != sdk::PathKind::file)
      out.error("serial-console.not-a-file", "path", "'" + given + "' is not a regular file (it is " + at.what + ")",
                "the console is written to a file: choose a path that is a file or does not exist yet");
    if (mode == "socket" && path.size() > kMaxSocketPathBytes)
      out.error("serial-console.socket-path-too-long", "path",
                "'" + path + "' is " + std::to_string(path.size()) + " bytes, the limit is " +
                    std::to_string(kMaxSocketPathBytes),
                "unix socket paths hold at most 107 bytes; choose a shorter path");
  }

  void assemble_vz(const sdk::Config& c, const sdk::Context& ctx, vz::Configuration& plan) const override {
    const auto mode = sdk::get_string(c, "mode", "stdio");
    vz::VirtioConsoleDeviceSerialPort port;
    if (mode == "stdio")
      port.attachment = vz::FileHandleSerialPortAttachment{"stdin", "stdout"};
    else if (mode == "file")
      port.attachment =
          vz::FileSerialPortAttachment{ctx.resolve(sdk::get_string(c, "path")), sdk::get_bool(c, "append")};
    else
      throw sdk::Failure("mode '" + mode + "' is not available on VZ");
    plan.serial_ports.push_back(std::move(port));
  }

  void assemble_qemu(const sdk::Config& c, const sdk::Context& ctx, qemu::Machine& plan) const override {
    // The machine's UART (isa-serial on x86, pl011 on aarch64 virt) is up before any module
    // loads, so it carries early kernel messages; a virtio console would not.
    const auto mode = sdk::get_string(c, "mode", "stdio");
    const std::string id = ctx.id("ser");
    qemu::Backend chardev;
    if (mode == "stdio") {
      // signal=off: Ctrl-C goes to the guest instead of stopping QEMU.
      chardev = {"stdio", {{"id", id}, {"signal", "off"}}, {}};
    } else if (mode == "file") {
      chardev = {"file", {{"id", id}, {"path", ctx.resolve(sdk::get_string(c, "path"))}}, {}};
      if (sdk::get_bool(c, "append")) chardev.properties.emplace_back("append", "on");
    } else {
      // wait=off: the guest runs without waiting for a client to attach.
      chardev = {"socket",
                 {{"id", id}, {"path", ctx.resolve(sdk::get_string(c, "path"))}, {"server", "on"}, {"wait", "off"}},
                 {}};
    }
    plan.chardevs.push_back(std::move(chardev));
    plan.serial.push_back("chardev:" + id);
  }
};

}  // namespace

VZKIT_PLUGIN(SerialConsole, kManifest)
