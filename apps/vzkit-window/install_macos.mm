// vzkit-window --install-macos latest|PATH.ipsw DIR: makes a macOS VM bundle in DIR.
//
// Loads the restore image (downloading the latest supported one first, with progress, reusing a
// complete earlier download), takes its most featureful supported configuration (refusing
// clearly when there is none), writes hardware-model.bin and machine-id.bin once (never
// regenerated), creates aux.img and a sparse disk.img, runs VZMacOSInstaller with progress, and
// writes spec.json (the mac-platform plugin's default file names) for `vzkit-plan`.
// Apple only; compiled with ARC.
#import <Foundation/Foundation.h>
#import <Virtualization/Virtualization.h>

#include <vzkit/bridge/vz/objc_bridge.h>
#include <vzkit/bridge/vz/vz_bridge.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace fs = std::filesystem;
namespace v = vzkit::vz;

namespace {

int refuse(const std::string& message) {
  std::fprintf(stderr, "vzkit-window: %s\n", message.c_str());
  return 2;
}

void progress_line(const char* what, double fraction) {
  const int width = 40;
  const int filled = static_cast<int>(fraction * width);
  std::fprintf(stderr, "\r%-12s [%s%s] %3d%%", what, std::string(filled, '#').c_str(),
               std::string(width - filled, ' ').c_str(), static_cast<int>(fraction * 100));
  std::fflush(stderr);
}

/// Downloads `url` to `target` with a progress bar; a complete earlier download is reused.
bool download(NSURL* url, const fs::path& target, std::string& error) {
  const fs::path partial = target.string() + ".part";
  __block NSURL* downloaded = nil;
  __block NSError* failure = nil;
  __block long long expected = -1;
  dispatch_semaphore_t done = dispatch_semaphore_create(0);
  NSURLSessionDownloadTask* task = [[NSURLSession sharedSession]
      downloadTaskWithURL:url
        completionHandler:^(NSURL* location, NSURLResponse* response, NSError* e) {
          failure = e;
          expected = response.expectedContentLength;
          if (location) {
            NSError* move_error = nil;
            NSURL* part = [NSURL fileURLWithPath:[NSString stringWithUTF8String:partial.c_str()]];
            [[NSFileManager defaultManager] removeItemAtURL:part error:nil];
            if ([[NSFileManager defaultManager] moveItemAtURL:location toURL:part error:&move_error])
              downloaded = part;
            else
              failure = move_error;
          }
          dispatch_semaphore_signal(done);
        }];
  [task resume];
  while (dispatch_semaphore_wait(done, dispatch_time(DISPATCH_TIME_NOW, NSEC_PER_SEC / 2)) != 0) {
    const int64_t total = task.countOfBytesExpectedToReceive;
    if (total > 0) progress_line("downloading", static_cast<double>(task.countOfBytesReceived) / total);
  }
  std::fprintf(stderr, "\n");
  if (!downloaded) {
    error = failure ? vzkit::bridge::vz::reason_of(failure) : "the download failed";
    return false;
  }
  std::error_code ec;
  if (expected > 0 && static_cast<long long>(fs::file_size(partial, ec)) != expected) {
    error = "the download is incomplete (" + std::to_string(fs::file_size(partial, ec)) + " of " +
            std::to_string(expected) + " bytes); run the command again";
    return false;
  }
  fs::rename(partial, target, ec);
  if (ec) error = ec.message();
  return !ec;
}

bool write_once(const fs::path& file, NSData* data, std::string& error) {
  if (fs::exists(file)) {
    error = "'" + file.string() + "' already exists; it is never regenerated (use a new folder)";
    return false;
  }
  if (![data writeToFile:[NSString stringWithUTF8String:file.c_str()] atomically:YES]) {
    error = "cannot write '" + file.string() + "'";
    return false;
  }
  return true;
}

}  // namespace

int install_macos(const std::string& source, const std::string& folder) {
  @autoreleasepool {
    const fs::path dir = fs::absolute(folder);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return refuse("cannot create '" + dir.string() + "': " + ec.message());

    // 1. The restore image.
    fs::path ipsw = source;
    if (source == "latest") {
      __block VZMacOSRestoreImage* latest = nil;
      __block NSError* failure = nil;
      dispatch_semaphore_t done = dispatch_semaphore_create(0);
      [VZMacOSRestoreImage fetchLatestSupportedWithCompletionHandler:^(VZMacOSRestoreImage* image, NSError* e) {
        latest = image;
        failure = e;
        dispatch_semaphore_signal(done);
      }];
      dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER);
      if (!latest) return refuse("cannot find the latest supported macOS: " + vzkit::bridge::vz::reason_of(failure));
      ipsw = dir / ("macOS-" + vzkit::bridge::vz::std_string(latest.buildVersion) + ".ipsw");
      if (!fs::exists(ipsw)) {
        std::string error;
        if (!download(latest.URL, ipsw, error)) return refuse("cannot download the restore image: " + error);
      }
    }
    __block VZMacOSRestoreImage* image = nil;
    __block NSError* load_error = nil;
    dispatch_semaphore_t loaded = dispatch_semaphore_create(0);
    [VZMacOSRestoreImage loadFileURL:[NSURL fileURLWithPath:[NSString stringWithUTF8String:fs::absolute(ipsw).c_str()]]
                   completionHandler:^(VZMacOSRestoreImage* i, NSError* e) {
                     image = i;
                     load_error = e;
                     dispatch_semaphore_signal(loaded);
                   }];
    dispatch_semaphore_wait(loaded, DISPATCH_TIME_FOREVER);
    if (!image) return refuse("cannot load '" + ipsw.string() + "': " + vzkit::bridge::vz::reason_of(load_error));
    VZMacOSConfigurationRequirements* requirements = image.mostFeaturefulSupportedConfiguration;
    if (!requirements || !requirements.hardwareModel.supported)
      return refuse("this Mac cannot run the macOS in '" + ipsw.string() +
                    "' (no supported hardware model; the guest may be newer than this Mac's macOS)");

    // 2. The identity, written once.
    std::string error;
    if (!write_once(dir / "hardware-model.bin", requirements.hardwareModel.dataRepresentation, error) ||
        !write_once(dir / "machine-id.bin", [[VZMacMachineIdentifier alloc] init].dataRepresentation, error))
      return refuse(error);

    // 3. The sparse boot disk.
    const fs::path disk = dir / "disk.img";
    if (!fs::exists(disk)) {
      const int fd = ::open(disk.c_str(), O_RDWR | O_CREAT | O_EXCL, 0644);
      if (fd < 0 || ::ftruncate(fd, 64ll << 30) != 0) return refuse("cannot create '" + disk.string() + "'");
      ::close(fd);
    }

    // 4. The machine: the minimums of the image, at least 4 CPUs and 8 GiB, within the host's bounds.
    const auto cpus = std::clamp<std::uint64_t>(std::max<std::uint64_t>(requirements.minimumSupportedCPUCount, 4),
                                                VZVirtualMachineConfiguration.minimumAllowedCPUCount,
                                                VZVirtualMachineConfiguration.maximumAllowedCPUCount);
    const auto memory = std::clamp<std::uint64_t>(std::max<std::uint64_t>(requirements.minimumSupportedMemorySize, 8ull << 30),
                                                  VZVirtualMachineConfiguration.minimumAllowedMemorySize,
                                                  VZVirtualMachineConfiguration.maximumAllowedMemorySize) /
                        (1ull << 20) * (1ull << 20);
    v::Configuration plan;
    plan.cpu_count = cpus;
    plan.memory_size = memory;
    v::MacPlatform platform;
    platform.hardware_model = (dir / "hardware-model.bin").string();
    platform.machine_identifier = (dir / "machine-id.bin").string();
    platform.auxiliary_storage = v::MacAuxiliaryStorage{(dir / "aux.img").string(), true};
    plan.platform = platform;
    plan.boot_loader = v::MacOSBootLoader{};
    plan.storage_devices.push_back(v::VirtioBlockDevice{v::DiskImageAttachment{disk.string()}});
    plan.graphics_devices.push_back(v::MacGraphicsDevice{{v::MacGraphicsDisplay{1920, 1200, 80}}});
    plan.keyboards.push_back(v::USBKeyboard{});
    plan.pointing_devices.push_back(v::USBScreenCoordinatePointingDevice{});
    plan.network_devices.push_back(v::VirtioNetworkDevice{std::nullopt, v::NATNetworkAttachment{}});
    vzkit::kernel::Diagnostics problems;
    auto machine = vzkit::bridge::vz::VzMachine::create(plan, {}, problems);
    if (!machine) {
      for (const auto& p : problems) std::fprintf(stderr, "vzkit-window: %s [%s]\n", p.message.c_str(), p.code.c_str());
      return 2;
    }

    // 5. Install, on the VM's queue, with a progress bar.
    struct InstallResult {
      NSError* error = nil;
    };
    InstallResult result;
    InstallResult* result_slot = &result;  // the completion block captures this pointer
    dispatch_semaphore_t installed = dispatch_semaphore_create(0);
    VZMacOSInstaller* installer = nil;
    NSURL* ipsw_url = [NSURL fileURLWithPath:[NSString stringWithUTF8String:fs::absolute(ipsw).c_str()]];
    machine->run_on_queue([&] {
      installer = [[VZMacOSInstaller alloc] initWithVirtualMachine:(__bridge VZVirtualMachine*)machine->native_handle()
                                                   restoreImageURL:ipsw_url];
      [installer installWithCompletionHandler:^(NSError* e) {
        result_slot->error = e;
        dispatch_semaphore_signal(installed);
      }];
    });
    while (dispatch_semaphore_wait(installed, dispatch_time(DISPATCH_TIME_NOW, NSEC_PER_SEC)) != 0)
      progress_line("installing", installer.progress.fractionCompleted);
    std::fprintf(stderr, "\n");
    if (result.error) return refuse("the installation failed: " + vzkit::bridge::vz::reason_of(result.error));

    // 6. The spec, for `vzkit-plan spec.json > plan.json; vzkit-window plan.json`.
    std::ofstream(dir / "spec.json")
        << "{\n  \"name\": \"" << dir.filename().string() << "\",\n  \"cpus\": " << cpus
        << ",\n  \"memory\": \"" << (memory >> 20) << "MiB\",\n  \"devices\": [\n"
        << "    {\"plugin\": \"mac-platform\"},\n"
        << "    {\"plugin\": \"virtio-blk\", \"path\": \"disk.img\"},\n"
        << "    {\"plugin\": \"mac-graphics\", \"width\": 1920, \"height\": 1200, \"pixels_per_inch\": 80},\n"
        << "    {\"plugin\": \"network\"},\n"
        << "    {\"plugin\": \"keyboard\", \"type\": \"usb\"},\n"
        << "    {\"plugin\": \"pointing\"},\n"
        << "    {\"plugin\": \"trackpad\"}\n  ]\n}\n";
    std::printf("installed macOS %s in %s\n", vzkit::bridge::vz::std_string(image.buildVersion).c_str(), dir.c_str());
    return 0;
  }
}
