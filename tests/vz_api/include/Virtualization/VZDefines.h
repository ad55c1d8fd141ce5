// vzkit's API model of Virtualization.framework: common definitions.
//
// On a Mac the real framework and SDK are used and this folder is never on the include path.
// Elsewhere (Linux with GNUstep Foundation) this shim supplies what the macOS SDK would: the
// availability macros as no-ops, the Swift annotations as no-ops, `ether_addr_t`,
// `NSOperatingSystemVersion`, and the SDK version macro the bridge tests at compile time.
#pragma once

#import <Foundation/Foundation.h>

#if !defined(__APPLE__)

#include <net/ethernet.h>
#include <stdint.h>

// The SDK this model mirrors. The bridge compares it like the SDK's own macro
// (e.g. `__MAC_OS_X_VERSION_MAX_ALLOWED >= 140000`). Define it on the command line to build the
// bridge as if with an older SDK (that is how the "built without that SDK" errors are tested).
#ifndef __MAC_OS_X_VERSION_MAX_ALLOWED
#define __MAC_OS_X_VERSION_MAX_ALLOWED 150000
#endif

#ifndef API_AVAILABLE
#define API_AVAILABLE(...)
#endif
#ifndef API_UNAVAILABLE
#define API_UNAVAILABLE(...)
#endif
#ifndef API_DEPRECATED
#define API_DEPRECATED(...)
#endif
#ifndef API_DEPRECATED_WITH_REPLACEMENT
#define API_DEPRECATED_WITH_REPLACEMENT(...)
#endif
#ifndef NS_SWIFT_NAME
#define NS_SWIFT_NAME(...)
#endif
#ifndef NS_SWIFT_ASYNC_NAME
#define NS_SWIFT_ASYNC_NAME(...)
#endif
#ifndef NS_SWIFT_UNAVAILABLE
#define NS_SWIFT_UNAVAILABLE(...)
#endif
#ifndef NS_SWIFT_UI_ACTOR
#define NS_SWIFT_UI_ACTOR
#endif
#ifndef NS_SWIFT_SENDABLE
#define NS_SWIFT_SENDABLE
#endif
#ifndef NS_REFINED_FOR_SWIFT
#define NS_REFINED_FOR_SWIFT
#endif
#ifndef NS_ERROR_ENUM
#define NS_ERROR_ENUM(domain, name) NS_ENUM(NSInteger, name)
#endif

// GNUstep defines NS_UNAVAILABLE as nothing; Apple's makes the method unavailable, so calling
// -init on an abstract VZ class does not compile. The model keeps Apple's meaning so the bridge
// is held to it; the fake implementation (which must call -init internally) relaxes it.
#if !defined(VZ_API_MODEL_IMPLEMENTATION)
#undef NS_UNAVAILABLE
#define NS_UNAVAILABLE __attribute__((unavailable))
#endif

// <net/ethernet.h> on macOS has `typedef struct ether_addr ether_addr_t`; glibc names only the struct.
typedef struct ether_addr ether_addr_t;

// Foundation on macOS 10.10+ has NSOperatingSystemVersion (VZMacOSRestoreImage uses it); GNUstep
// Base 1.28 does not.
typedef struct {
    NSInteger majorVersion;
    NSInteger minorVersion;
    NSInteger patchVersion;
} NSOperatingSystemVersion;

// The model's stand-in for `@available(macOS N, *)`: whether the (fake) host runs macOS N or
// later. The recording fake answers from its host settings (VZFakeSetHostOperatingSystemVersion).
#ifdef __cplusplus
extern "C" {
#endif
BOOL VZModelOperatingSystemAtLeast(NSInteger majorVersion);
#ifdef __cplusplus
}
#endif

#endif  // !__APPLE__

#ifndef VZ_EXPORT
#ifdef __cplusplus
#define VZ_EXPORT extern "C" __attribute__((visibility("default")))
#else
#define VZ_EXPORT extern __attribute__((visibility("default")))
#endif
#endif

// The framework declares the macOS-guest classes only on arm64. The model declares them on every
// architecture so the bridge's macOS-guest code is compiled and tested on Linux hosts.
#if defined(__arm64__) || !defined(__APPLE__)
#define VZ_MODEL_HAS_MAC_GUESTS 1
#else
#define VZ_MODEL_HAS_MAC_GUESTS 0
#endif
