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

/// Forgets every recorded object and call, and restores the default host.
void VZFakeReset(void);

/// Every object created since the last reset, in creation order. Each entry:
/// {"class": NSString, "initializer": NSString (the selector), "arguments": NSArray, "object": id}.
/// The log keeps the objects alive until the next reset.
NSArray<NSDictionary *> *VZFakeCreationLog(void);

/// Every VZVirtualMachine call since the last reset, in order: {"selector": NSString, "state": NSNumber
/// (the state when the call was made), "object": VZVirtualMachine}.
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
