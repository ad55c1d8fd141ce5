// Objective-C++ side of the VZ bridge (include from .mm files only).
//
// Memory: on Apple the bridge is built with ARC; on Linux (GNUstep on GCC's runtime) there is no
// ARC, so ownership goes through the VZKIT_* macros and ObjcPtr, which do the retain/release
// only when ARC is off. Newer APIs: VZKIT_SDK_AT_LEAST (compile time: the SDK has it) and
// VZKIT_OS_AT_LEAST (run time: this macOS has it) guard every call newer than macOS 13.
#pragma once

#import <Foundation/Foundation.h>
#import <Virtualization/Virtualization.h>

#include <vzkit/bridge/vz/vz_bridge.hpp>

#include <string>
#include <utility>
#include <vector>

#if __has_feature(objc_arc)
#define VZKIT_RETAIN(x) (x)
#define VZKIT_RELEASE(x) ((void)0)
#define VZKIT_AUTORELEASE(x) (x)
#define VZKIT_BRIDGE(type, x) ((__bridge type)(x))
#define VZKIT_DISPATCH_RELEASE(q) ((void)0)
#else
#define VZKIT_RETAIN(x) [(x) retain]
#define VZKIT_RELEASE(x) [(x) release]
#define VZKIT_AUTORELEASE(x) [(x) autorelease]
#define VZKIT_BRIDGE(type, x) ((type)(x))
#define VZKIT_DISPATCH_RELEASE(q) dispatch_release(q)
#endif

/// The SDK the bridge is compiled against has macOS `major`'s API.
#define VZKIT_SDK_AT_LEAST(major) (__MAC_OS_X_VERSION_MAX_ALLOWED >= (major) * 10000)

/// The running macOS is `major` or later. Use only as `if (VZKIT_OS_AT_LEAST(14)) { ... }`.
#if defined(__APPLE__)
#define VZKIT_OS_AT_LEAST(major) @available(macOS major, *)
#else
#define VZKIT_OS_AT_LEAST(major) VZModelOperatingSystemAtLeast(major)
#endif

/// The macOS-guest classes (Mac platform, hardware model, trackpad, Rosetta, ...) exist only on
/// Apple silicon; the API model declares them everywhere.
#if defined(__arm64__) || !defined(__APPLE__)
#define VZKIT_HAS_MAC_GUESTS 1
#else
#define VZKIT_HAS_MAC_GUESTS 0
#endif

namespace vzkit::bridge::vz {

/// A strong reference to an Objective-C object, with or without ARC.
template <class T>
class ObjcPtr {
 public:
  ObjcPtr() = default;
  ObjcPtr(T* object) : m_object(object) { retain(); }  // NOLINT: implicit on purpose
  ObjcPtr(const ObjcPtr& other) : m_object(other.m_object) { retain(); }
  ObjcPtr(ObjcPtr&& other) noexcept : m_object(other.m_object) { other.m_object = nil; }
  ObjcPtr& operator=(ObjcPtr other) noexcept {
    std::swap(m_object, other.m_object);
    return *this;
  }
  ~ObjcPtr() { release(); }

  T* get() const { return m_object; }
  explicit operator bool() const { return m_object != nil; }

 private:
  void retain() {
#if !__has_feature(objc_arc)
    [m_object retain];
#endif
  }
  void release() {
#if !__has_feature(objc_arc)
    [m_object release];
#endif
  }
  T* m_object = nil;
};

/// The VZ objects made from one plan, and the origin of every device-level object in it.
struct Built {
  ObjcPtr<VZVirtualMachineConfiguration> configuration;  ///< null when building failed
  std::vector<std::pair<ObjcPtr<NSObject>, vzkit::vz::Origin>> origins;
  kernel::Diagnostics problems;  ///< building problems (not validation)

  /// The origin recorded for `object`, or null.
  const vzkit::vz::Origin* origin_of(id object) const;
};

/// Makes the VZ objects for `plan`. Call inside an autorelease pool.
Built build(const vzkit::vz::Configuration& plan, const BuildOptions& options);

/// Runs validateWithError: on `built.configuration`; the error, if any, mapped to the spec.
kernel::Diagnostics validate_built(const Built& built);

/// One NSError from validateWithError: as a diagnostic: the device it concerns is found from the
/// failure reason (which array, which rule) and the origins of the objects in that array.
kernel::Diagnostic map_validation_error(NSError* error, const Built& built);

/// NSString for UTF-8 text (autoreleased).
NSString* ns_string(const std::string& text);
/// UTF-8 text of an NSString (empty for nil).
std::string std_string(NSString* text);
/// Apple's failure reason of an error, else its description.
std::string reason_of(NSError* error);

}  // namespace vzkit::bridge::vz
