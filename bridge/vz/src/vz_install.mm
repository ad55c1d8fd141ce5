// install_macos(): a macOS VM from a restore image.
//
// The restore image is a local .ipsw, or "latest": VZMacOSRestoreImage asks Apple's catalog for
// the newest macOS this Mac supports, and its URL is downloaded into the download folder (kept
// across VMs; a file:// URL is copied, which is also how the path is tested against the fake).
// Downloads resume: the bytes so far live in DEST.part, and on Apple NSURLSession's resume data in
// DEST.resume; the finished file is checked against the expected size before it becomes DEST.
// The image's most featureful supported configuration gives the hardware model and the minimums;
// the VM's identity (hardware-model.bin, machine-id.bin) is written once, aux.img is created by
// VZMacAuxiliaryStorage and disk.img is a sparse file; VZMacOSInstaller then runs on the VM's
// queue while the caller's thread reports its progress.
//
// Every failure is returned as text: no C++ exception crosses an Objective-C++ frame here, and the
// Objective-C exceptions VZ documents (VZMacOSInstaller's) are caught where they can be raised.
#include <vzkit/bridge/vz/objc_bridge.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__APPLE__)
#include <signal.h>
#endif

namespace vzkit::bridge::vz {

namespace {

namespace fs = std::filesystem;
namespace v = vzkit::vz;

InstallResult failed(std::string error) {
  InstallResult r;
  r.error = std::move(error);
  return r;
}

#if VZKIT_HAS_MAC_GUESTS

constexpr std::uint64_t kMiB = 1ull << 20;
constexpr std::uint64_t kGiB = 1ull << 30;
constexpr std::uint64_t kMinimumCpus = 4;
constexpr std::uint64_t kMinimumMemory = 8 * kGiB;
constexpr auto kPollPeriod = std::chrono::milliseconds(50);

// The files of a macOS VM (the mac-platform plugin's default names).
constexpr const char* kHardwareModel = "hardware-model.bin";
constexpr const char* kMachineId = "machine-id.bin";
constexpr const char* kAuxiliaryStorage = "aux.img";
constexpr const char* kDisk = "disk.img";

using Progress = std::function<void(const std::string&, double)>;

void report(const Progress& progress, const char* phase, double fraction) {
  if (progress) progress(phase, std::clamp(fraction, 0.0, 1.0));
}

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

std::string errno_text() { return std::strerror(errno); }

/// A size for people: "8 GiB", "4096 MiB", or bytes.
std::string size_text(std::uint64_t bytes) {
  if (bytes % kGiB == 0) return std::to_string(bytes / kGiB) + " GiB";
  if (bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  return std::to_string(bytes) + " bytes";
}

/// The path of an NSURL, or its text when it is not a file URL.
std::string url_text(NSURL* url) { return std_string([url isFileURL] ? [url path] : [url absoluteString]); }

// ---- files ---------------------------------------------------------------------------------------

/// Writes `data` to a new file `path`, all or nothing; an existing file is never replaced.
std::string write_new_file(const fs::path& path, NSData* data) {
  const fs::path temporary = path.string() + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return "cannot write " + quoted(temporary) + ": " + errno_text();
  const auto* bytes = static_cast<const char*>([data bytes]);
  std::size_t left = [data length];
  bool ok = true;
  while (ok && left > 0) {
    const ssize_t n = ::write(fd, bytes, left);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) {
      bytes += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  ok = ok && ::fsync(fd) == 0;
  std::string error = ok ? std::string() : "cannot write " + quoted(temporary) + ": " + errno_text();
  ::close(fd);
  // link() refuses an existing name, so a file already there is never replaced.
  if (error.empty() && ::link(temporary.c_str(), path.c_str()) != 0)
    error = errno == EEXIST
                ? quoted(path) + " already exists: a VM's identity is never regenerated; install into a new folder"
                : "cannot write " + quoted(path) + ": " + errno_text();
  ::unlink(temporary.c_str());
  return error;
}

/// Creates `path` as a sparse file of `bytes` (the boot disk VZ attaches as a raw image).
std::string create_sparse_disk(const fs::path& path, std::uint64_t bytes) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return "cannot create the disk " + quoted(path) + ": " + errno_text();
  std::string error;
  if (::ftruncate(fd, static_cast<off_t>(bytes)) != 0)
    error = "cannot make the disk " + quoted(path) + " " + size_text(bytes) + " large: " + errno_text();
  ::close(fd);
  return error;
}

/// Copies `source` to `target` through TARGET.part, continuing an earlier partial copy; the copy
/// becomes `target` only when it has the source's size.
std::string copy_resumable(const fs::path& source, const fs::path& target, const Progress& progress) {
  const fs::path part = target.string() + ".part";
  std::error_code ec;
  const auto size = fs::file_size(source, ec);
  if (ec) return "cannot read the restore image " + quoted(source) + ": " + ec.message();
  const int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return "cannot read the restore image " + quoted(source) + ": " + errno_text();
  const int out = ::open(part.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (out < 0) {
    ::close(in);
    return "cannot write " + quoted(part) + ": " + errno_text();
  }
  struct stat st {};
  std::uint64_t done = ::fstat(out, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  if (done > size) done = 0;  // not a part of this image: start over
  std::string error;
  if (::ftruncate(out, static_cast<off_t>(done)) != 0 || ::lseek(in, static_cast<off_t>(done), SEEK_SET) < 0 ||
      ::lseek(out, static_cast<off_t>(done), SEEK_SET) < 0)
    error = "cannot resume " + quoted(part) + ": " + errno_text();
  std::string buffer(kMiB, '\0');
  while (error.empty() && done < size) {
    report(progress, "download", size ? static_cast<double>(done) / static_cast<double>(size) : 1.0);
    const ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the source shrank; the size check below says so
    for (ssize_t written = 0; error.empty() && written < n;) {
      const ssize_t w = ::write(out, buffer.data() + written, static_cast<std::size_t>(n - written));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) error = "cannot write " + quoted(part) + ": " + errno_text();
      else written += w;
    }
    if (error.empty()) done += static_cast<std::uint64_t>(n);
  }
  if (error.empty() && ::fsync(out) != 0) error = "cannot write " + quoted(part) + ": " + errno_text();
  ::close(in);
  ::close(out);
  if (!error.empty()) return error + "; run the command again to resume";
  const auto copied = fs::file_size(part, ec);
  if (ec || copied != size)
    return "the copy of " + quoted(source) + " is incomplete (" + std::to_string(copied) + " of " +
           std::to_string(size) + " bytes); run the command again to resume it";
  fs::rename(part, target, ec);
  if (ec) return "cannot rename " + quoted(part) + " to " + quoted(target) + ": " + ec.message();
  report(progress, "download", 1.0);
  return "";
}

#if defined(__APPLE__)

/// The whole size of the file a response delivers: the total of a 206's Content-Range when the
/// download resumed, otherwise the expected content length (-1 when unknown).
long long expected_size(NSURLResponse* response) {
  if ([response isKindOfClass:[NSHTTPURLResponse class]]) {
    NSHTTPURLResponse* http = (NSHTTPURLResponse*)response;
    NSString* range = [[http allHeaderFields] objectForKey:@"Content-Range"];  // "bytes a-b/total"
    if (http.statusCode == 206 && range) {
      const NSRange slash = [range rangeOfString:@"/" options:NSBackwardsSearch];
      if (slash.location != NSNotFound) {
        const long long total = [[range substringFromIndex:slash.location + 1] longLongValue];
        if (total > 0) return total;
      }
    }
  }
  return response.expectedContentLength;
}

/// Downloads `url` to `target` with NSURLSession. The finished download is moved to TARGET.part,
/// checked against the expected size and renamed to `target`. When the download fails or is
/// interrupted (SIGINT/SIGTERM while it runs), its resume data is kept in TARGET.resume and the
/// next call continues from there (downloadTaskWithResumeData:).
std::string download_with_session(NSURL* url, const fs::path& target, const Progress& progress) {
  const fs::path part_file = target.string() + ".part";
  const fs::path resume_file = target.string() + ".resume";
  NSString* part_path = ns_string(part_file.string());
  NSString* resume_path = ns_string(resume_file.string());
  auto finished = std::make_shared<std::promise<std::string>>();
  auto expected = std::make_shared<std::atomic<long long>>(-1);
  auto interrupted = std::make_shared<std::atomic<bool>>(false);

  void (^completion)(NSURL*, NSURLResponse*, NSError*) = ^(NSURL* location, NSURLResponse* response, NSError* error) {
    NSFileManager* files = [NSFileManager defaultManager];
    if (location && !error) {
      // The temporary file goes away when this handler returns: keep it as the .part file now.
      [files removeItemAtPath:part_path error:nil];
      NSError* move_error = nil;
      if (![files moveItemAtURL:location toURL:[NSURL fileURLWithPath:part_path] error:&move_error]) {
        finished->set_value("cannot keep the download in " + std_string(part_path) + ": " + reason_of(move_error));
        return;
      }
      [files removeItemAtPath:resume_path error:nil];
      expected->store(expected_size(response));
      finished->set_value("");
      return;
    }
    if (!interrupted->load()) {
      // Resume data lets the next attempt continue; without it the next attempt starts over.
      NSData* resume = [[error userInfo] objectForKey:NSURLSessionDownloadTaskResumeData];
      if (resume)
        [resume writeToFile:resume_path atomically:YES];
      else
        [files removeItemAtPath:resume_path error:nil];
    }
    finished->set_value(reason_of(error));
  };

  NSData* resume = [NSData dataWithContentsOfFile:resume_path];
  NSURLSession* session = [NSURLSession sharedSession];
  NSURLSessionDownloadTask* task = resume ? [session downloadTaskWithResumeData:resume completionHandler:completion]
                                          : [session downloadTaskWithURL:url completionHandler:completion];

  // An interruption keeps the resume data: SIGINT/SIGTERM are taken over while the download runs.
  auto resume_saved = std::make_shared<std::promise<void>>();
  struct sigaction ignore {}, old_int {}, old_term {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &ignore, &old_int);
  ::sigaction(SIGTERM, &ignore, &old_term);
  dispatch_queue_t signal_queue = dispatch_queue_create("org.vzkit.download-signals", DISPATCH_QUEUE_SERIAL);
  dispatch_source_t sources[] = {
      dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, SIGINT, 0, signal_queue),
      dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, SIGTERM, 0, signal_queue)};
  for (dispatch_source_t source : sources) {
    dispatch_source_set_event_handler(source, ^{
      if (interrupted->exchange(true)) return;
      [task cancelByProducingResumeData:^(NSData* data) {
        if (data) [data writeToFile:resume_path atomically:YES];
        resume_saved->set_value();
      }];
    });
    dispatch_resume(source);
  }

  [task resume];
  auto done = finished->get_future();
  while (done.wait_for(std::chrono::milliseconds(250)) != std::future_status::ready) {
    const int64_t total = task.countOfBytesExpectedToReceive;
    if (total > 0) report(progress, "download", static_cast<double>(task.countOfBytesReceived) / total);
  }
  std::string error = done.get();
  for (dispatch_source_t source : sources) dispatch_source_cancel(source);
  if (interrupted->load()) resume_saved->get_future().wait_for(std::chrono::seconds(10));
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);

  if (interrupted->load()) return "the download was interrupted; run the command again to resume it";
  if (!error.empty()) return "the download failed (" + error + "); run the command again to resume it";
  std::error_code ec;
  const auto size = fs::file_size(part_file, ec);
  const long long want = expected->load();
  if (ec || (want > 0 && static_cast<long long>(size) != want)) {
    fs::remove(part_file, ec);
    return "the download was incomplete (" + std::to_string(size) + " of " + std::to_string(want) +
           " bytes); run the command again";
  }
  fs::rename(part_file, target, ec);
  if (ec) return "cannot rename " + quoted(part_file) + " to " + quoted(target) + ": " + ec.message();
  report(progress, "download", 1.0);
  return "";
}

#endif  // __APPLE__

/// Puts the restore image at `url` into `target` (nothing to do when `target` exists: it is only
/// ever made from a complete, size-checked download).
std::string download(NSURL* url, const fs::path& target, const Progress& progress) {
  std::error_code ec;
  if (fs::is_regular_file(target, ec)) {
    report(progress, "download", 1.0);
    return "";
  }
  if ([url isFileURL]) return copy_resumable(std_string([url path]), target, progress);
#if defined(__APPLE__)
  return download_with_session(url, target, progress);
#else
  (void)progress;
  return "downloading needs macOS (NSURLSession); download it yourself and pass the .ipsw file instead of 'latest'";
#endif
}

// ---- VZ's asynchronous calls, waited for ----------------------------------------------------------

struct ImageOrError {
  ObjcPtr<VZMacOSRestoreImage> image;
  std::string error;
};

/// What a restore-image completion handler hands over, from any thread.
void deliver(const std::shared_ptr<std::promise<ImageOrError>>& promise, VZMacOSRestoreImage* image, NSError* error) {
  ImageOrError out;
  out.image = image;
  if (!image) out.error = reason_of(error);
  promise->set_value(std::move(out));
}

ImageOrError fetch_latest() {
  auto promise = std::make_shared<std::promise<ImageOrError>>();
  auto future = promise->get_future();
  [VZMacOSRestoreImage fetchLatestSupportedWithCompletionHandler:^(VZMacOSRestoreImage* image, NSError* error) {
    deliver(promise, image, error);
  }];
  return future.get();
}

ImageOrError load_image(const fs::path& ipsw) {
  auto promise = std::make_shared<std::promise<ImageOrError>>();
  auto future = promise->get_future();
  [VZMacOSRestoreImage loadFileURL:[NSURL fileURLWithPath:ns_string(ipsw.string())]
                 completionHandler:^(VZMacOSRestoreImage* image, NSError* error) {
                   deliver(promise, image, error);
                 }];
  return future.get();
}

/// The major version of the macOS this Mac runs.
long host_macos_major() {
#if defined(__APPLE__)
  return static_cast<long>([[NSProcessInfo processInfo] operatingSystemVersion].majorVersion);
#else
  long major = 0;
  for (long v = 11; v <= 40; ++v)
    if (VZModelOperatingSystemAtLeast(v)) major = v;
  return major;
#endif
}

/// On the VM's queue: makes the installer and starts it; "" or why it could not start. The
/// framework raises for a VM that is not a Mac, a URL that is not a local file, or a second start.
std::string start_installer(VZVirtualMachine* vm, NSURL* ipsw, ObjcPtr<VZMacOSInstaller>& installer,
                            std::shared_ptr<std::promise<std::string>> finished) {
  @try {
    installer = VZKIT_AUTORELEASE([[VZMacOSInstaller alloc] initWithVirtualMachine:vm restoreImageURL:ipsw]);
    [installer.get() installWithCompletionHandler:^(NSError* error) {
      finished->set_value(error ? reason_of(error) : std::string());
    }];
  } @catch (NSException* e) {
    return std_string([e reason]);
  }
  return "";
}

// ---- the VM ---------------------------------------------------------------------------------------

/// The VM the installer runs: the Mac platform with the new identity, the new disk, a display,
/// keyboard, pointer and network (the guest's setup assistant needs them after the first boot).
v::Configuration installer_plan(const fs::path& dir, std::uint64_t cpus, std::uint64_t memory) {
  v::Configuration plan;
  plan.cpu_count = cpus;
  plan.memory_size = memory;
  v::MacPlatform platform;
  platform.hardware_model = (dir / kHardwareModel).string();
  platform.machine_identifier = (dir / kMachineId).string();
  platform.auxiliary_storage = v::MacAuxiliaryStorage{(dir / kAuxiliaryStorage).string(), false};
  plan.platform = platform;
  plan.boot_loader = v::MacOSBootLoader{};
  v::VirtioBlockDevice disk;
  disk.attachment = v::DiskImageAttachment{(dir / kDisk).string()};
  plan.storage_devices.push_back(disk);
  v::MacGraphicsDevice graphics;
  graphics.displays.push_back(v::MacGraphicsDisplay{1920, 1200, 80});
  plan.graphics_devices.push_back(graphics);
  plan.keyboards.push_back(v::USBKeyboard{});
  plan.pointing_devices.push_back(v::USBScreenCoordinatePointingDevice{});
  v::VirtioNetworkDevice network;
  network.attachment = v::NATNetworkAttachment{};
  plan.network_devices.push_back(network);
  return plan;
}

}  // namespace

InstallResult install_macos(const InstallOptions& options) {
  @autoreleasepool {
    const Progress& progress = options.progress;
    if (options.source.empty()) return failed("no restore image given: pass 'latest' or the path of a .ipsw file");
    if (options.dir.empty()) return failed("no folder given for the VM");
    if (options.disk_bytes == 0 || options.disk_bytes % 512 != 0)
      return failed("the disk size must be a positive multiple of 512 bytes, not " + std::to_string(options.disk_bytes));
    std::error_code ec;
    const fs::path dir = fs::absolute(options.dir, ec);
    fs::create_directories(dir, ec);
    if (ec) return failed("cannot create the folder " + quoted(dir) + ": " + ec.message());
    for (const char* name : {kHardwareModel, kMachineId, kAuxiliaryStorage, kDisk})
      if (fs::exists(dir / name, ec))
        return failed(quoted(dir / name) +
                      " already exists: a VM's identity and disks are never regenerated; install into a new folder");

    // 1. The restore image, local or downloaded.
    fs::path ipsw;
    if (options.source == "latest") {
      const ImageOrError latest = fetch_latest();
      if (!latest.image)
        return failed("cannot find the latest macOS this Mac supports (" + latest.error +
                      "); check the network connection, or pass a downloaded .ipsw file instead of 'latest'");
      std::string build = std_string([latest.image.get() buildVersion]);
      std::replace_if(build.begin(), build.end(), [](char c) { return c == '/' || c == '\\' || c == '\0'; }, '_');
      const fs::path downloads = fs::absolute(options.download_dir.empty() ? dir : options.download_dir, ec);
      fs::create_directories(downloads, ec);
      if (ec) return failed("cannot create the download folder " + quoted(downloads) + ": " + ec.message());
      ipsw = downloads / ("macOS-" + build + ".ipsw");
      NSURL* url = [latest.image.get() URL];
      const std::string error = download(url, ipsw, progress);
      if (!error.empty())
        return failed("cannot download macOS " + build + " from " + url_text(url) + " to " + quoted(ipsw) + ": " + error);
    } else {
      ipsw = fs::absolute(options.source, ec);
      if (!fs::is_regular_file(ipsw, ec))
        return failed(quoted(ipsw) + " does not exist: pass the path of a macOS restore image (.ipsw) or 'latest'");
    }
    const ImageOrError loaded = load_image(ipsw);
    if (!loaded.image)
      return failed("cannot load the restore image " + quoted(ipsw) + " (" + loaded.error +
                    "); check that it is a macOS restore image for Apple silicon" +
                    (options.source == "latest" ? ", or delete it to download it again" : ""));
    VZMacOSRestoreImage* image = loaded.image.get();
    const std::string build = std_string([image buildVersion]);

    // 2. What this Mac can run of it. A guest newer than the host does not install (observed, not
    //    documented); the framework may also just offer no supported configuration for it.
    const long guest_major = static_cast<long>([image operatingSystemVersion].majorVersion);
    if (guest_major > host_macos_major())
      return failed("this Mac cannot run the macOS in " + quoted(ipsw) + " (macOS " + std::to_string(guest_major) +
                    ", build " + build + "): it is newer than this Mac's macOS " + std::to_string(host_macos_major()) +
                    "; update this Mac or use an older restore image");
    VZMacOSConfigurationRequirements* requirements = [image mostFeaturefulSupportedConfiguration];
    if (!requirements || ![[requirements hardwareModel] isSupported])
      return failed("this Mac cannot run the macOS in " + quoted(ipsw) + " (build " + build +
                    "): none of its hardware models is supported here; use the restore image of a macOS no "
                    "newer than this Mac's, or update this Mac");
    const std::uint64_t min_cpus = [requirements minimumSupportedCPUCount];
    const std::uint64_t min_memory = [requirements minimumSupportedMemorySize];
    const std::uint64_t cpu_low = [VZVirtualMachineConfiguration minimumAllowedCPUCount];
    const std::uint64_t cpu_high = [VZVirtualMachineConfiguration maximumAllowedCPUCount];
    const std::uint64_t memory_low = [VZVirtualMachineConfiguration minimumAllowedMemorySize];
    const std::uint64_t memory_high = [VZVirtualMachineConfiguration maximumAllowedMemorySize];
    if (min_cpus > cpu_high || min_memory > memory_high)
      return failed("this Mac cannot run the macOS in " + quoted(ipsw) + " (build " + build + "): it needs " +
                    std::to_string(min_cpus) + " CPUs and " + size_text(min_memory) + ", and a VM here gets at most " +
                    std::to_string(cpu_high) + " CPUs and " + size_text(memory_high) + "; use a Mac with more");
    // The image's minimums, at least 4 CPUs and 8 GiB, within the host's bounds; whole MiB.
    const std::uint64_t cpus = std::clamp(std::max(min_cpus, kMinimumCpus), cpu_low, cpu_high);
    std::uint64_t memory = std::clamp(std::max(min_memory, kMinimumMemory), memory_low, memory_high) / kMiB * kMiB;
    if (memory < std::max(min_memory, memory_low)) memory += kMiB;  // bounds that are not whole MiB

    // 3. The VM's files: the identity once, the auxiliary storage, the sparse disk.
    NSData* model = [[requirements hardwareModel] dataRepresentation];
    if (std::string e = write_new_file(dir / kHardwareModel, model); !e.empty()) return failed(e);
    VZMacMachineIdentifier* machine_id = VZKIT_AUTORELEASE([[VZMacMachineIdentifier alloc] init]);
    if (std::string e = write_new_file(dir / kMachineId, [machine_id dataRepresentation]); !e.empty()) return failed(e);
    NSError* aux_error = nil;
    VZMacAuxiliaryStorage* aux = VZKIT_AUTORELEASE([[VZMacAuxiliaryStorage alloc]
        initCreatingStorageAtURL:[NSURL fileURLWithPath:ns_string((dir / kAuxiliaryStorage).string())]
                   hardwareModel:[requirements hardwareModel]
                         options:0
                           error:&aux_error]);
    if (!aux)
      return failed("cannot create the auxiliary storage " + quoted(dir / kAuxiliaryStorage) + ": " +
                    reason_of(aux_error));
    if (std::string e = create_sparse_disk(dir / kDisk, options.disk_bytes); !e.empty()) return failed(e);

    // 4. The installer, on the VM's own queue. Its NSProgress is fetched there too (VZ objects
    //    belong to their VM's queue); the NSProgress itself is thread-safe and is polled here.
    kernel::Diagnostics problems;
    auto machine = VzMachine::create(installer_plan(dir, cpus, memory), {}, problems);
    if (!machine) {
      std::string why = problems.empty() ? std::string("no reason given") : problems.front().message;
      return failed("Virtualization.framework refused the VM for the installation: " + why);
    }
    report(progress, "install", 0.0);
    NSURL* ipsw_url = [NSURL fileURLWithPath:ns_string(ipsw.string())];
    ObjcPtr<VZMacOSInstaller> installer;
    ObjcPtr<NSProgress> installer_progress;
    auto finished = std::make_shared<std::promise<std::string>>();
    auto outcome = finished->get_future();
    std::string start_error;
    machine->run_on_queue([&] {
      VZVirtualMachine* vm = VZKIT_BRIDGE(VZVirtualMachine*, machine->native_handle());
      start_error = start_installer(vm, ipsw_url, installer, finished);
      if (installer) installer_progress = [installer.get() progress];
    });
    std::string install_error;
    if (start_error.empty()) {
      double last = 0.0;  // reported above
      while (outcome.wait_for(kPollPeriod) != std::future_status::ready) {
        @autoreleasepool {
          const double fraction = [installer_progress.get() fractionCompleted];
          if (fraction != last) report(progress, "install", fraction);
          last = fraction;
        }
      }
      install_error = outcome.get();
    }
    machine->run_on_queue([&] { installer = ObjcPtr<VZMacOSInstaller>(); });
    if (!start_error.empty()) return failed("the macOS installer did not start: " + start_error);
    if (!install_error.empty())
      return failed("installing macOS " + build + " failed (" + install_error +
                    "); delete the VM's folder and try again");
    report(progress, "install", 1.0);

    InstallResult result;
    result.build_version = build;
    result.cpu_count = cpus;
    result.memory_bytes = memory;
    return result;
  }
}

#else  // an Intel Mac

}  // namespace

InstallResult install_macos(const InstallOptions&) {
  return failed("macOS VMs need a Mac with Apple silicon; this Mac has an Intel processor");
}

#endif  // VZKIT_HAS_MAC_GUESTS

}  // namespace vzkit::bridge::vz
