// vzkit pull, push, images, prune, login and logout: VM images in OCI registries, in a format
// tart reads and writes (host API: <vzkit/host_images.hpp>). `vzkit clone REF NEW` is in
// disk_commands.cpp and comes here for an image.
#include "commands.hpp"
#include "progress.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <mutex>

namespace vzkit::app {

namespace json = boost::json;

namespace {

json::object image_json(const host::ImageInfo& i) {
  return {{"ref", i.ref},          {"digest", i.digest},       {"index", i.index},       {"os", i.os},
          {"arch", i.arch},        {"engine", i.engine},       {"from_tart", i.from_tart},
          {"pulled", i.pulled},    {"compressed", i.compressed}, {"size", i.size},
          {"on_disk", i.on_disk},  {"files", json::value_from(i.files)}};
}

// Progress for people (one line on a terminal) or scripts (--json: a JSON object per line).
class Reporter {
 public:
  Reporter(const std::string& what, bool json) : m_line(what), m_json(json) {}

  std::function<void(const host::ImageProgress&)> callback() {
    return [this](const host::ImageProgress& p) {
      std::lock_guard lock(m_mutex);
      if (m_json) {
        json::object e{{"event", p.kind},       {"bytes", p.bytes},   {"total", p.total},
                       {"skipped", p.skipped},  {"chunks", p.chunks}, {"chunks_total", p.chunks_total},
                       {"seconds", p.seconds},
                       {"rate", p.seconds > 0 ? static_cast<double>(p.bytes) / p.seconds : 0.0}};
        if (!p.message.empty()) e["message"] = p.message;
        std::printf("%s\n", json::serialize(e).c_str());
        std::fflush(stdout);
        return;
      }
      if (p.kind == "retry") {
        m_line.finish();
        std::fprintf(stderr, "vzkit: %s\n", p.message.c_str());
        return;
      }
      m_line.update(p.bytes, p.total);
    };
  }
  void finish() { m_line.finish(); }
  void result(json::object o) {
    if (!m_json) return;
    std::printf("%s\n", json::serialize(o).c_str());
  }
  bool json() const { return m_json; }

 private:
  ProgressLine m_line;
  bool m_json;
  std::mutex m_mutex;
};

std::string read_password(bool from_stdin) {
  std::string pw;
  if (from_stdin || ::isatty(STDIN_FILENO) != 1) {
    if (!from_stdin)
      throw host::InputError("no password: give it on standard input with --password-stdin (it is not a terminal to ask on)");
    std::getline(std::cin, pw);
    return pw;
  }
  std::fprintf(stderr, "Password: ");
  termios old{};
  ::tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::getline(std::cin, pw);
  ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::fprintf(stderr, "\n");
  return pw;
}

class ImageCommands {
 public:
  explicit ImageCommands(CLI::App& app) {
    auto transfer_flags = [&](CLI::App* c) {
      c->add_flag("--insecure", m_opts.insecure,
                  "Plain HTTP instead of HTTPS; only for a registry on this machine (localhost, 127.0.0.1)");
      c->add_option("-j,--jobs", m_opts.jobs, "Chunks moved at once")->check(CLI::Range(1, 16))->capture_default_str();
      c->add_flag("--json", m_json, "Progress and the result as JSON, one object per line, for scripts");
    };
    m_pull = app.add_subcommand(
        "pull", "Download an image into the local store ($VZKIT_HOME/images), shared by the VMs made from it: "
                "chunks in parallel, each checked against its digest, written sparse; an interrupted pull "
                "continues where it stopped");
    m_pull->add_option("ref", m_ref, "The image: REGISTRY/REPOSITORY[:TAG] or ...@sha256:DIGEST")
        ->required()
        ->type_name("REF");
    transfer_flags(m_pull);
    m_pull->add_option("--limit-rate", m_limit_rate, "Download at most this much per second in all, e.g. 20MiB")
        ->type_name("RATE");
    m_pull->add_option("--platform", m_opts.platform,
                       "Of an image with several platforms (an image index): the one to take, OS/ARCH such as "
                       "linux/arm64 (default: linux or darwin on this machine's architecture)")
        ->type_name("OS/ARCH");
    m_pull->footer("Examples:\n"
                   "  vzkit pull ghcr.io/cirruslabs/macos-sequoia-base:latest   a tart image\n"
                   "  vzkit pull 127.0.0.1:5000/demo:v1 --insecure             a registry on this machine, plain HTTP\n"
                   "  vzkit clone 127.0.0.1:5000/demo:v1 web --insecure         a VM from it (pulls it if needed)\n"
                   "Credentials come from $REGISTRY_AUTH_FILE or ~/.docker/config.json (`vzkit login`).");

    m_push = app.add_subcommand(
        "push", "Upload a stopped VM as an image tart can pull too: its config, its disk as LZ4 chunks, its NVRAM, "
                "and vzkit's spec and other files (which tart skips); blobs the registry has are not sent again");
    m_push->add_option("vm", m_vm, "The VM (stopped; it stays locked while it is pushed)")->required()->type_name("VM");
    m_push->add_option("ref", m_ref, "Where: REGISTRY/REPOSITORY:TAG")->required()->type_name("REF");
    transfer_flags(m_push);
    m_push->add_option("--chunk-size", m_chunk, "Uncompressed bytes per disk chunk (1MiB to 1GiB)")
        ->type_name("SIZE")
        ->capture_default_str();
    m_push->add_option("--upload-chunk-size", m_upload_chunk,
                       "Send each blob in PATCH requests of this size (the registry's chunked upload) instead of one")
        ->type_name("SIZE");
    m_push->footer("Examples:\n"
                   "  vzkit push web 127.0.0.1:5000/web:v1 --insecure\n"
                   "  vzkit push web ghcr.io/me/web:v1     after `vzkit login ghcr.io -u me`");

    m_images = app.add_subcommand("images", "List the images in the local store: reference, size, where from");
    m_images->add_flag("--json", m_json, "Print JSON for scripts");

    m_prune = app.add_subcommand("prune", "Free the local image store of what no pulled image needs (left by "
                                          "replaced tags and interrupted pulls); VMs keep their own copies");
    m_prune->add_flag("--all", m_all, "Remove every image from the store");
    m_prune->add_flag("--json", m_json, "Print what was removed as JSON");

    m_login = app.add_subcommand("login", "Store credentials for a registry (checked with it first) in "
                                          "$REGISTRY_AUTH_FILE or ~/.docker/config.json, or through the credential "
                                          "helper that file names (credHelpers, credsStore), as docker does");
    m_login->add_option("registry", m_registry, "The registry: host[:port]")->required()->type_name("REGISTRY");
    m_login->add_option("-u,--username", m_user, "User name")->required();
    m_login->add_flag("--password-stdin", m_password_stdin, "Read the password from standard input");
    m_login->add_flag("--insecure", m_opts.insecure, "Plain HTTP (a registry on this machine only)");
    m_login->footer("Example:\n  echo \"$TOKEN\" | vzkit login ghcr.io -u me --password-stdin");
    m_logout = app.add_subcommand("logout", "Forget the stored credentials for a registry");
    m_logout->add_option("registry", m_registry, "The registry: host[:port]")->required()->type_name("REGISTRY");
  }

  void bind(std::function<int()>& command) {
    auto on = [this, &command](CLI::App* c, int (ImageCommands::*fn)()) {
      c->callback([this, &command, fn] { command = [this, fn] { return reported([&] { return (this->*fn)(); }); }; });
    };
    on(m_pull, &ImageCommands::pull);
    on(m_push, &ImageCommands::push);
    on(m_images, &ImageCommands::images);
    on(m_prune, &ImageCommands::prune);
    on(m_login, &ImageCommands::login);
    on(m_logout, &ImageCommands::logout);
  }

 private:
  int pull() {
    Reporter rep("pulling " + m_ref, m_json);
    auto o = m_opts;
    if (!m_limit_rate.empty()) {
      const auto r = vzkit::parse_size(m_limit_rate);
      if (!r || *r == 0) throw host::InputError("--limit-rate '" + m_limit_rate + "' is not a rate in bytes (e.g. 20MiB)");
      o.limit_rate = *r;
    }
    o.progress = rep.callback();
    const auto r = host::Images().pull(m_ref, o);
    rep.finish();
    if (m_json) {
      auto j = image_json(r.image);
      j["event"] = "pulled";
      j["downloaded"] = r.downloaded;
      j["reused"] = r.reused;
      j["resumed_chunks"] = r.resumed_chunks;
      rep.result(j);
      return 0;
    }
    std::printf("pulled %s (%s): %s downloaded%s%s\n", r.image.ref.c_str(), r.image.digest.c_str(),
                approx_size(r.downloaded).c_str(),
                r.reused ? (", " + approx_size(r.reused) + " already in the store").c_str() : "",
                r.resumed_chunks ? (", " + std::to_string(r.resumed_chunks) + " chunks from the interrupted pull").c_str()
                                 : "");
    std::printf("make a VM of it with: vzkit clone %s NAME\n", r.image.ref.c_str());
    return 0;
  }

  int push() {
    const auto chunk = vzkit::parse_size(m_chunk);
    if (!chunk) throw host::InputError("--chunk-size '" + m_chunk + "' is not a size (e.g. 64MiB)");
    std::uint64_t upload = 0;
    if (!m_upload_chunk.empty()) {
      const auto u = vzkit::parse_size(m_upload_chunk);
      if (!u || *u == 0) throw host::InputError("--upload-chunk-size '" + m_upload_chunk + "' is not a size (e.g. 16MiB)");
      upload = *u;
    }
    Reporter rep("pushing " + m_vm + " to " + m_ref, m_json);
    host::ImagePushOptions o;
    static_cast<host::ImageTransferOptions&>(o) = m_opts;
    o.progress = rep.callback();
    o.chunk_size = *chunk;
    o.upload_chunk = upload;
    const auto r = host::Images().push(m_vm, m_ref, o);
    rep.finish();
    if (m_json) {
      rep.result({{"event", "pushed"},
                  {"ref", r.ref},
                  {"digest", r.digest},
                  {"uploaded", r.uploaded},
                  {"blobs_uploaded", r.uploaded_blobs},
                  {"blobs_existing", r.existing_blobs},
                  {"blobs_mounted", r.mounted_blobs}});
      return 0;
    }
    std::printf("pushed VM '%s' to %s (%s): %s sent in %zu blobs, %zu the registry had, %zu mounted\n", m_vm.c_str(),
                r.ref.c_str(), r.digest.c_str(), approx_size(r.uploaded).c_str(), r.uploaded_blobs, r.existing_blobs,
                r.mounted_blobs);
    return 0;
  }

  int images() {
    const auto list = host::Images().list();
    if (m_json) {
      json::array a;
      for (const auto& i : list) a.push_back(image_json(i));
      print_json(a);
      return 0;
    }
    if (list.empty()) {
      std::printf("no images; get one with: vzkit pull REGISTRY/REPOSITORY:TAG\n");
      return 0;
    }
    std::printf("%-44s %-8s %-12s %10s %10s %10s  %s\n", "REFERENCE", "ENGINE", "OS/ARCH", "SIZE", "ON DISK",
                "COMPRESSED", "PULLED");
    for (const auto& i : list)
      std::printf("%-44s %-8s %-12s %10s %10s %10s  %s\n", i.ref.c_str(),
                  (i.engine.empty() ? (i.from_tart ? "tart" : "-") : i.engine.c_str()),
                  (i.os + "/" + i.arch).c_str(), approx_size(i.size).c_str(), approx_size(i.on_disk).c_str(),
                  approx_size(i.compressed).c_str(), i.pulled.c_str());
    return 0;
  }

  int prune() {
    const auto r = host::Images().prune(m_all);
    if (m_json) {
      print_json(json::object{{"freed", r.bytes}, {"entries", r.entries}, {"images", r.refs}});
      return 0;
    }
    std::printf("freed %s (%zu entries%s)\n", approx_size(r.bytes).c_str(), r.entries,
                r.refs ? (", " + std::to_string(r.refs) + " images").c_str() : "");
    return 0;
  }

  int login() {
    const auto pw = read_password(m_password_stdin);
    const auto file = host::Images().login(m_registry, m_user, pw, m_opts.insecure);
    std::printf("logged in to %s as %s; credentials stored in %s\n", m_registry.c_str(), m_user.c_str(), file.c_str());
    return 0;
  }

  int logout() {
    const auto place = host::Images::credentials_place(m_registry);
    if (!host::Images().logout(m_registry)) {
      std::fprintf(stderr, "vzkit: no credentials for %s in %s\n", m_registry.c_str(), place.c_str());
      return 1;
    }
    std::printf("removed the credentials for %s from %s\n", m_registry.c_str(), place.c_str());
    return 0;
  }

  CLI::App *m_pull = nullptr, *m_push = nullptr, *m_images = nullptr, *m_prune = nullptr, *m_login = nullptr,
           *m_logout = nullptr;
  host::ImageTransferOptions m_opts;
  std::string m_ref, m_vm, m_registry, m_user, m_chunk = "64MiB", m_upload_chunk, m_limit_rate;
  bool m_json = false, m_all = false, m_password_stdin = false;
};

}  // namespace

void add_image_commands(CLI::App& app, const Globals&, std::function<int()>& command) {
  static std::unique_ptr<ImageCommands> commands;  // bound to the options until the process ends
  commands = std::make_unique<ImageCommands>(app);
  commands->bind(command);
}

int clone_image(const std::string& ref, const std::string& name, bool insecure, const std::string& platform,
                bool as_json) {
  Reporter rep("pulling " + ref, as_json);
  host::ImageTransferOptions o;
  o.insecure = insecure;
  o.platform = platform;
  o.progress = rep.callback();
  const auto vm = host::Images().clone(ref, name, o);
  rep.finish();
  if (as_json) {
    rep.result({{"event", "cloned"}, {"name", vm.name}, {"dir", vm.dir}, {"source", ref}, {"engine", vm.engine}});
    return 0;
  }
  std::printf("made VM '%s' from %s (%s)\nstart it with: vzkit run %s\n", vm.name.c_str(), ref.c_str(),
              vm.dir.c_str(), vm.name.c_str());
  return 0;
}

}  // namespace vzkit::app
