// Saving and restoring a virtual machine's state (macOS 14, Apple silicon; VZ-API.md §8, §19, §20
// rule 30). In Apple's SDK these are members of VZVirtualMachine and VZVirtualMachineConfiguration
// under `#if defined(__arm64__)`; the model declares them as categories, which callers use alike.
#pragma once

NS_ASSUME_NONNULL_BEGIN

#if VZ_MODEL_HAS_MAC_GUESTS

@interface VZVirtualMachine (VZSaveRestore)
/// Only when Paused (else VZErrorInvalidVirtualMachineState); failure: VZErrorSave. The VM stays
/// Paused either way (state Saving meanwhile).
- (void)saveMachineStateToURL:(NSURL *)saveFileURL completionHandler:(void (^)(NSError * _Nullable errorOrNil))completionHandler API_AVAILABLE(macos(14.0));
/// Only when Stopped (else VZErrorInvalidVirtualMachineStateTransition); a bad or incompatible
/// file: VZErrorRestore and Stopped again; success leaves the VM Paused (state Restoring meanwhile).
- (void)restoreMachineStateFromURL:(NSURL *)saveFileURL completionHandler:(void (^)(NSError * _Nullable errorOrNil))completionHandler API_AVAILABLE(macos(14.0));
@end

@interface VZVirtualMachineConfiguration (VZSaveRestore)
/// NO (with the reason) when a VM of this configuration could not be saved.
- (BOOL)validateSaveRestoreSupportWithError:(NSError **)error API_AVAILABLE(macos(14.0));
@end

#endif

NS_ASSUME_NONNULL_END
