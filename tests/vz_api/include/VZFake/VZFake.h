// The recording fake of Virtualization.framework: what tests can inspect and control.
//
// Every VZ object the fake creates is recorded (class, initializer, arguments) and keeps its
// properties in a table the tests read back as plain Foundation values. The "host" the fake
// pretends to be (macOS version, CPU and memory bounds, hardware model support, Rosetta) is set
// here too. None of this exists in Apple's framework.
#pragma once

#import <Foundation/Foundation.h>

NS_ASSUME_NONNULL_BEGIN

#ifdef __cplusplus
extern "C" {
#endif

// ---- Recording --------------------------------------------------------------------------------

/// Forgets every recorded object and call, and restores the default host and installation settings.
void VZFakeReset(void);

/// Every object created since the last reset, in creation order. Each entry:
/// {"class": NSString, "initializer": NSString (the selector), "arguments": NSArray, "object": id}.
/// The log keeps the objects alive until the next reset.
NSArray<NSDictionary *> *VZFakeCreationLog(void);

/// Every call to VZVirtualMachine, VZMacOSRestoreImage and VZMacOSInstaller since the last reset, in
/// order: {"selector": NSString, "state": NSNumber (the VM's state when the call was made; -1 for
/// the restore image's class methods), "object": the VZVirtualMachine or VZMacOSInstaller (for
/// +loadFileURL:completionHandler: its URL, for +fetchLatestSupportedWithCompletionHandler:
/// NSNull), "queue": NSString (the label of the dispatch queue the caller ran on; "" when on none)}.
/// The installer's initializer is logged here too, so the log shows the order of the whole install.
NSArray<NSDictionary *> *VZFakeCallLog(void);

/// The object graph below `object` as plain values: a dictionary with "class" (NSString),
/// "initializer" (the selector the object was made with) and one key per ObjC property that was
/// set (NSURL as its path, NSData as {"bytes": length}, NSFileHandle as {"fd": n}, VZMACAddress
/// as its string, enums and scalars as NSNumber, VZ objects recursively, arrays and dictionaries
/// element by element). VZVirtioConsolePortConfigurationArray gives {"maximumPortCount", "ports":
/// {"index": port}}.
id VZFakeSnapshot(id object);

/// The property table of one fake object (the raw values, not converted), or nil.
NSDictionary *_Nullable VZFakeProperties(id object);

// ---- The host ---------------------------------------------------------------------------------

/// Major macOS version the fake host reports to VZModelOperatingSystemAtLeast (default 15).
void VZFakeSetHostOperatingSystemVersion(NSInteger major);
/// Bounds reported by VZVirtualMachineConfiguration's class properties (defaults: 1..8 CPUs,
/// 128 MiB..64 GiB). UNCONFIRMED: the real values depend on the host and are not documented.
void VZFakeSetHostCPUBounds(NSUInteger minimum, NSUInteger maximum);
void VZFakeSetHostMemoryBounds(uint64_t minimum, uint64_t maximum);
/// Whether VZMacHardwareModel.supported is YES (default YES).
void VZFakeSetHardwareModelSupported(BOOL supported);
/// VZLinuxRosettaDirectoryShare.availability (0 not supported, 1 not installed, 2 installed; default 2).
void VZFakeSetRosettaAvailability(NSInteger availability);
/// VZVirtualMachine.supported (default YES).
void VZFakeSetVirtualizationSupported(BOOL supported);
/// When YES the fake guest ignores requestStopWithError: (as macOS 12 guests did); default NO.
void VZFakeSetGuestIgnoresStopRequests(BOOL ignores);
/// VZGenericPlatformConfiguration.nestedVirtualizationSupported (default NO, as on an M1 or M2 Mac).
void VZFakeSetNestedVirtualizationSupported(BOOL supported);
/// Whether this process holds com.apple.security.virtualization (default YES). Without it
/// validateWithError: fails first, with code 2 and Apple's reason naming the entitlement.
void VZFakeSetVirtualizationEntitlement(BOOL entitled);

/// Stands in for a program in the guest listening on vsock `port`: each -[VZVirtioSocketDevice
/// connectToPort:completionHandler:] to it makes a connected socket pair, hands the guest's end to
/// `accept` (on a queue of its own; the block owns that descriptor) and the host's end to the
/// VZVirtioSocketConnection. nil stops listening. Connecting to a port nobody listens on, or
/// while the VM is not running, fails with NSPOSIXErrorDomain ECONNRESET (UNCONFIRMED: the code
/// the framework reports). VZFakeReset clears every listener.
void VZFakeSetGuestSocketListener(uint32_t port, void (^_Nullable accept)(int fd));

// ---- macOS installation -------------------------------------------------------------------------
//
// A stand-in restore image is a small JSON file in place of an IPSW:
//
//   {"build_version": "23A344", "os": [14, 0, 0], "min_cpus": 2, "min_memory": 4294967296,
//    "supported": true}
//
// build_version: VZMacOSRestoreImage.buildVersion (a non-empty string); os: operatingSystemVersion
// (major[, minor[, patch]]); min_cpus / min_memory: the minimumSupportedCPUCount /
// minimumSupportedMemorySize of mostFeaturefulSupportedConfiguration; supported: the image's
// `supported`, and when false mostFeaturefulSupportedConfiguration is nil (no hardware model in
// the image runs on this host). The configuration's hardware model holds the bytes
// "vzfake-hardware-model:<build_version>"; its `supported` follows VZFakeSetHardwareModelSupported.
//
// +loadFileURL:completionHandler: raises for a non-file URL; a file that cannot be read fails with
// VZErrorRestoreImageLoadFailed, one that is not a stand-in with VZErrorInvalidRestoreImage. The
// handler runs on a thread of its own. VZMacAuxiliaryStorage's initCreatingStorageAtURL:... writes
// a small stand-in file at its URL, as the framework writes the real storage.
//
// VZMacOSInstaller raises (as the headers say) when made off the VM's queue, for a VM whose
// platform is not VZMacPlatformConfiguration, or for a URL that is not a file on disk;
// installWithCompletionHandler: raises off the queue or when called twice, fails with
// VZErrorInvalidVirtualMachineState unless the VM is stopped, otherwise moves the VM to Running,
// advances `progress` to completion in four steps on the VM's queue (about 20 ms apart), leaves
// the VM Stopped and calls the handler on the VM's queue. Cancelling the progress ends it with
// VZErrorOperationCancelled.

/// The URL +fetchLatestSupportedWithCompletionHandler: reports (nil, the default: it fails with
/// VZErrorRestoreImageCatalogLoadFailed). A file URL must name a stand-in restore image, whose facts
/// the image then has (otherwise VZErrorInvalidRestoreImageCatalog); any other URL gets the facts
/// of the example above.
void VZFakeSetLatestRestoreImageURL(NSURL *_Nullable url);
/// Makes the next installations fail halfway with `error` (nil, the default: they succeed).
void VZFakeSetInstallFailure(NSError *_Nullable error);

// ---- Driving a virtual machine ------------------------------------------------------------------

/// Makes a running or paused fake VM fail as if the hypervisor had stopped it: the state becomes
/// Error and the delegate gets virtualMachine:didStopWithError:. Runs on the VM's queue.
void VZFakeVirtualMachineFail(id virtualMachine, NSError *error);

/// Makes the fake guest power off by itself: state Stopped, then guestDidStopVirtualMachine:.
void VZFakeVirtualMachineGuestPowerOff(id virtualMachine);

#ifdef __cplusplus
}
#endif

NS_ASSUME_NONNULL_END
