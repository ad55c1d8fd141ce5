// vzkit clone, set and convert: the commands that copy a VM and change a stopped VM's disks and
// settings (host API: <vzkit/host_disks.hpp>).
#include "commands.hpp"
#include "progress.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <cstdio>

namespace vzkit::app {

namespace json = boost::json;

namespace {

void print_changes(const std::vector<std::string>& changes) {
  for (const auto& c : changes) std::printf("  %s\n", c.c_str());
}

class DiskCommands {
 public:
  DiskCommands(CLI::App& app, const Globals& g) : m_globals(g) {
    m_clone = app.add_subcommand("clone", "Make a new VM from a stopped one or from an image: its disks and NVRAM are "
                                          "cloned copy-on-write where the filesystem can (btrfs, XFS, APFS), else "
                                          "copied sparse; the clone gets its own name, MAC addresses and identifiers");
    m_clone->add_option("source", m_source,
                        "The VM to clone (stopped), or an image REGISTRY/REPOSITORY[:TAG] (pulled first when the "
                        "local store lacks it)")
        ->required()
        ->type_name("VM|REF");
    m_clone->add_flag("--insecure", m_insecure, "For an image: plain HTTP to a registry on this machine");
    m_clone->add_option("--platform", m_platform,
                        "For an image with several platforms (an image index): the one to take, OS/ARCH such as "
                        "linux/arm64 (default: linux or darwin on this machine's architecture)")
        ->type_name("OS/ARCH");
    m_clone->add_option("name", m_name, "Name of the new VM")->required()->type_name("NEW");
    m_clone->add_flag("--json", m_json, "Print the new VM, its files and what differs from the source as JSON");
    m_clone->footer(
        "Examples:\n"
        "  vzkit clone golden web1        a VM of its own from 'golden', which stays as it is\n"
        "  vzkit clone golden web2 --json\n"
        "  vzkit clone ghcr.io/cirruslabs/ubuntu:latest dev     a VM from an image (a tart image too)\n"
        "Writable disks the source uses from outside its folder are copied into the clone's; read-only ones\n"
        "(installer ISOs) are shared. Fixed MAC addresses in the spec are replaced by new random ones.");

    m_set = app.add_subcommand("set", "Change a stopped VM's settings: CPUs, memory, a disk's size, the installer "
                                      "ISO; the new spec is validated before anything is written");
    m_set->add_option("vm", m_name, "VM name (stopped)")->required()->type_name("VM");
    m_set->add_option("--cpus", m_cpus, "Virtual CPUs")->type_name("N")->check(CLI::Range(1, 1024));
    m_set->add_option("--memory", m_opts.memory, "Memory, e.g. 8GiB")->type_name("SIZE");
    m_set->add_option("--disk-size", m_opts.disk_size,
                      "Grow a disk to this size, sparse (the guest grows its filesystem: cloud-init does at boot, "
                      "or `resize2fs`); a smaller size is refused unless --force")
        ->type_name("SIZE");
    m_set->add_option("--device", m_opts.device,
                      "The disk --disk-size resizes, by its index in the spec's devices (default: the first writable "
                      "disk)")
        ->type_name("N")
        ->check(CLI::NonNegativeNumber);
    m_set->add_flag("--force", m_opts.force, "Allow --disk-size to shrink the disk (the data past its new end is lost)");
    m_set->add_flag("--remove-iso", m_opts.remove_iso, "Detach the read-only installer images (after an install)");
    m_set->add_flag("--json", m_json, "Print what changed as JSON");
    m_set->footer(
        "Examples:\n"
        "  vzkit set web --disk-size 64GiB\n"
        "  vzkit set deb --remove-iso --cpus 4 --memory 8GiB\n"
        "  vzkit set web --disk-size 20GiB --device 3 --force   shrink devices[3] (its filesystem first!)");

    m_convert = app.add_subcommand("convert", "Convert a stopped VM's disk images between raw and qcow2 (qemu-img); "
                                              "VZ takes raw images only");
    m_convert->add_option("vm", m_name, "VM name (stopped)")->required()->type_name("VM");
    m_convert->add_option("--format", m_format, "The format to convert to")
        ->required()
        ->check(CLI::IsMember({"raw", "qcow2"}));
    m_convert->add_option("--device", m_convert_device,
                          "Only this disk, by its index in the spec's devices (default: every writable disk in "
                          "another format)")
        ->type_name("N")
        ->check(CLI::NonNegativeNumber);
    m_convert->add_flag("--json", m_json, "Print what changed as JSON");
    m_convert->footer(
        "Examples:\n"
        "  vzkit convert web --format raw     e.g. a qcow2 image from elsewhere, for the vz engine\n"
        "  vzkit convert web --format qcow2   smaller to push or archive; QEMU runs it as it is");
  }

  /// The command given, once parsing chose it.
  void bind(std::function<int()>& command) {
    m_clone->callback([this, &command] { command = [this] { return reported([&] { return clone(); }); }; });
    m_set->callback([this, &command] { command = [this] { return reported([&] { return set(); }); }; });
    m_convert->callback([this, &command] { command = [this] { return reported([&] { return convert(); }); }; });
  }

 private:
  int clone() {
    if (host::is_image_reference(m_source)) return clone_image(m_source, m_name, m_insecure, m_platform, m_json);
    if (!m_platform.empty()) throw host::InputError("--platform is for cloning an image; '" + m_source + "' is a VM");
    ProgressLine line("cloning '" + m_source + "' into '" + m_name + "'");
    host::CloneOptions o;
    o.source = m_source;
    o.name = m_name;
    if (!m_json) o.progress = [&](std::uint64_t done, std::uint64_t total) { line.update(done, total); };
    const auto c = host::clone_vm(o);
    line.finish();
    if (m_json) {
      json::array files;
      for (const auto& f : c.files)
        files.push_back(json::object{{"file", f.file}, {"method", f.method}, {"bytes", f.size},
                                     {"bytes_copied", f.bytes_copied}});
      print_json(json::object{{"name", c.name}, {"dir", c.dir}, {"source", m_source}, {"files", files},
                              {"changes", json::value_from(c.changes)}});
      return 0;
    }
    std::printf("cloned VM '%s' into '%s' (%s)\n", m_source.c_str(), c.name.c_str(), c.dir.c_str());
    for (const auto& f : c.files)
      std::printf("  %s: %s, %s%s\n", std::filesystem::path(f.file).filename().c_str(), f.method.c_str(),
                  format_size(f.size).c_str(),
                  f.method == "clone" ? "" : (" (" + format_size(f.bytes_copied) + " of data copied)").c_str());
    print_changes(c.changes);
    std::printf("start it with: vzkit run %s\n", c.name.c_str());
    return 0;
  }

  int set() {
    auto h = load_plugins(m_globals);
    m_opts.name = m_name;
    if (m_cpus > 0) m_opts.cpus = m_cpus;
    const auto r = host::set_vm(h, m_opts);
    print_diagnostics(r.warnings);
    if (m_json) {
      print_json(json::object{{"name", m_name}, {"changes", json::value_from(r.changes)}});
      return 0;
    }
    std::printf("changed VM '%s':\n", m_name.c_str());
    print_changes(r.changes);
    return 0;
  }

  int convert() {
    auto h = load_plugins(m_globals);
    host::ConvertOptions o;
    o.name = m_name;
    o.format = m_format;
    o.device = m_convert_device;
    o.show_progress = !m_json && ::isatty(STDOUT_FILENO) == 1;
    const auto r = host::convert_vm(h, o);
    if (m_json) {
      print_json(json::object{{"name", m_name}, {"format", m_format}, {"changes", json::value_from(r.changes)}});
      return 0;
    }
    std::printf("converted the disks of VM '%s':\n", m_name.c_str());
    print_changes(r.changes);
    return 0;
  }

  const Globals& m_globals;
  CLI::App* m_clone = nullptr;
  CLI::App* m_set = nullptr;
  CLI::App* m_convert = nullptr;
  std::string m_source, m_name, m_format;
  int m_cpus = 0, m_convert_device = -1;
  bool m_json = false, m_insecure = false;
  std::string m_platform;
  host::SetOptions m_opts;
};

}  // namespace

void add_disk_commands(CLI::App& app, const Globals& g, std::function<int()>& command) {
  static std::unique_ptr<DiskCommands> commands;  // bound to the options until the process ends
  commands = std::make_unique<DiskCommands>(app, g);
  commands->bind(command);
}

}  // namespace vzkit::app
