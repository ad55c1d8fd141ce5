// validateWithError: of the recording fake: the rules of VZ-API.md §20 that can be checked from
// the object graph alone. Failures are NSErrors in VZErrorDomain, code 2, with the reason in
// NSLocalizedFailureReasonErrorKey. Apple's wording is used where it is known (marked [OBS]: seen
// in the errors of real runs); the other reasons are vzkit's guesses at the style (UNCONFIRMED).
#import "VZFakeInternal.h"

// This file holds only a category, which a static-library link would drop; VZFakeStore.m refers
// to this symbol so the category is always linked.
int VZFakeValidationLinked = 1;

static BOOL fail(NSError **error, NSString *reason)
{
    if (error)
        *error = VZFakeError(VZErrorInvalidVirtualMachineConfiguration, reason);
    return NO;
}

static NSUInteger count_of_class(NSArray *array, Class cls)
{
    NSUInteger n = 0;
    for (id element in array)
        if ([element isKindOfClass:cls])
            ++n;
    return n;
}

@implementation VZVirtualMachineConfiguration (VZVirtualMachineConfigurationValidation)

+ (uint64_t)minimumAllowedMemorySize { return VZFakeHostSettings()->minMemory; }
+ (uint64_t)maximumAllowedMemorySize { return VZFakeHostSettings()->maxMemory; }
+ (NSUInteger)minimumAllowedCPUCount { return VZFakeHostSettings()->minCPU; }
+ (NSUInteger)maximumAllowedCPUCount { return VZFakeHostSettings()->maxCPU; }

- (BOOL)validateWithError:(NSError **)error
{
    VZFakeHost *host = VZFakeHostSettings();
    if (!host->entitled)  // [OBS], with typographic quotes
        return fail(error, [NSString stringWithUTF8String:"The process doesn\xE2\x80\x99t have the "
                                                          "\xE2\x80\x9C" "com.apple.security.virtualization"
                                                          "\xE2\x80\x9D entitlement."]);
    if (!host->virtualizationSupported)
        return fail(error, @"Virtualization is not available on this hardware.");

    // Boot loader and platform.
    VZBootLoader *bootLoader = [self bootLoader];
    VZPlatformConfiguration *platform = [self platform];
    BOOL mac = [platform isKindOfClass:[VZMacPlatformConfiguration class]];
    if (!bootLoader)
        return fail(error, @"A boot loader must be specified.");
    if ([bootLoader isKindOfClass:[VZMacOSBootLoader class]] != mac)
        return fail(error, @"The boot loader is invalid.");  // [OBS]

    // CPU and memory.
    if ([self CPUCount] < host->minCPU)
        return fail(error, @"The number of CPUs is less than the minimum allowed.");
    if ([self CPUCount] > host->maxCPU)
        return fail(error, @"The number of CPUs is greater than the maximum allowed.");
    if ([self memorySize] % (1024 * 1024) != 0)
        return fail(error, @"The memory size must be a multiple of 1 MiB.");
    if ([self memorySize] < host->minMemory)
        return fail(error, @"The memory size is less than the minimum allowed.");
    if ([self memorySize] > host->maxMemory)
        return fail(error, @"The memory size is greater than the maximum allowed.");

    // The Mac platform's identity.
    if (mac) {
        VZMacPlatformConfiguration *p = (VZMacPlatformConfiguration *)platform;
        if (![p hardwareModel])
            return fail(error, @"A hardware model must be specified.");
        if (![[p hardwareModel] isSupported])
            return fail(error, @"The hardware model is not supported on the current host.");
        if (![p machineIdentifier])
            return fail(error, @"A machine identifier must be specified.");
        if (![p auxiliaryStorage])
            return fail(error, @"An auxiliary storage must be specified.");
    } else if ([platform isKindOfClass:[VZGenericPlatformConfiguration class]]) {
        VZGenericPlatformConfiguration *p = (VZGenericPlatformConfiguration *)platform;
        if ([p isNestedVirtualizationEnabled] && ![VZGenericPlatformConfiguration isNestedVirtualizationSupported])
            return fail(error, @"Nested virtualization is not supported on this device.");
    }

    // Storage.
    for (VZStorageDeviceConfiguration *device in [self storageDevices]) {
        if (![device attachment])
            return fail(error, @"The storage device attachment is invalid.");  // [OBS]
        if ([device isKindOfClass:[VZVirtioBlockDeviceConfiguration class]]) {
            NSString *identifier = [(VZVirtioBlockDeviceConfiguration *)device blockDeviceIdentifier];
            if (identifier && ![VZVirtioBlockDeviceConfiguration validateBlockDeviceIdentifier:identifier error:NULL])
                return fail(error, @"Invalid block device identifier: it must be ASCII and at most 20 bytes.");
        }
        if (mac && [device isKindOfClass:[VZNVMExpressControllerDeviceConfiguration class]])
            return fail(error, @"The NVMe controller is only supported on the generic platform.");
    }

    // Network.
    for (VZNetworkDeviceConfiguration *device in [self networkDevices]) {
        if (![device attachment])
            return fail(error, @"A network device has no attachment.");
        if (![[device MACAddress] isUnicastAddress])
            return fail(error, @"Invalid MAC address: it must be a unicast address.");
        if ([[device attachment] isKindOfClass:[VZFileHandleNetworkDeviceAttachment class]]) {
            NSInteger mtu = [(VZFileHandleNetworkDeviceAttachment *)[device attachment] maximumTransmissionUnit];
            if (mtu < 1500 || mtu > 65535)
                return fail(error, @"Invalid maximum transmission unit.");
        }
    }

    // Single-instance devices.
    if ([[self socketDevices] count] > 1)
        return fail(error, @"More than one socket device is configured.");
    if ([[self memoryBalloonDevices] count] > 1)
        return fail(error, @"More than one memory balloon device is configured.");

    // Directory sharing.
    for (VZDirectorySharingDeviceConfiguration *device in [self directorySharingDevices]) {
        if ([device isKindOfClass:[VZVirtioFileSystemDeviceConfiguration class]] &&
            ![VZVirtioFileSystemDeviceConfiguration validateTag:[(VZVirtioFileSystemDeviceConfiguration *)device tag] error:NULL])
            return fail(error, @"Invalid file system tag: it must be non-empty and shorter than 36 bytes.");
    }

    // Graphics.
    for (VZGraphicsDeviceConfiguration *device in [self graphicsDevices]) {
        if ([device isKindOfClass:[VZVirtioGraphicsDeviceConfiguration class]]) {
            NSArray *scanouts = [(VZVirtioGraphicsDeviceConfiguration *)device scanouts];
            if ([scanouts count] > 1)
                return fail(error, @"More than one scanout is configured.");
            for (VZVirtioGraphicsScanoutConfiguration *scanout in scanouts)
                if ([scanout widthInPixels] <= 0 || [scanout heightInPixels] <= 0)
                    return fail(error, @"Invalid scanout size.");
        } else if ([device isKindOfClass:[VZMacGraphicsDeviceConfiguration class]]) {
            NSArray *displays = [(VZMacGraphicsDeviceConfiguration *)device displays];
            if ([displays count] > 1)
                return fail(error, @"More than one display is configured.");  // [OBS]
            for (VZMacGraphicsDisplayConfiguration *display in displays)
                if ([display widthInPixels] <= 0 || [display heightInPixels] <= 0 || [display pixelsPerInch] <= 0)
                    return fail(error, @"Invalid display size.");
        }
    }

    // Input.
    if (!mac) {
        if ([[self pointingDevices] count] > 1)
            return fail(error, @"Number of pointing devices is greater than the maximum number supported.");  // [OBS]
        if (count_of_class([self pointingDevices], [VZMacTrackpadConfiguration class]) > 0)
            return fail(error, @"The Mac trackpad is only supported on the Mac platform.");
        if (count_of_class([self keyboards], [VZMacKeyboardConfiguration class]) > 0)
            return fail(error, @"The Mac keyboard is only supported on the Mac platform.");
    }

    // Consoles.
    for (VZConsoleDeviceConfiguration *device in [self consoleDevices]) {
        if (![device isKindOfClass:[VZVirtioConsoleDeviceConfiguration class]])
            continue;
        VZVirtioConsolePortConfigurationArray *ports = [(VZVirtioConsoleDeviceConfiguration *)device ports];
        NSDictionary *byIndex = VZFakeGet(ports, @"ports");
        NSUInteger consoles = 0;
        for (NSNumber *index in byIndex) {
            VZVirtioConsolePortConfiguration *port = [byIndex objectForKey:index];
            if (VZFakeGet(ports, @"@maximumPortCount") && [index unsignedIntegerValue] >= [ports maximumPortCount])
                return fail(error, @"A console port index is not less than the maximum port count.");
            if ([port isConsole])
                ++consoles;
            if ([[port attachment] isKindOfClass:[VZSpiceAgentPortAttachment class]]) {
                if (![[port name] isEqualToString:[VZSpiceAgentPortAttachment spiceAgentPortName]])
                    return fail(error, @"The Spice agent port must be named with spiceAgentPortName.");
                if ([port isConsole])
                    return fail(error, @"The Spice agent port cannot be the console.");
            }
        }
        if (consoles > 1)
            return fail(error, @"More than one console port is configured.");  // UNCONFIRMED rule
    }
    return YES;
}

- (BOOL)validateSaveRestoreSupportWithError:(NSError **)error
{
    if (![self validateWithError:error])
        return NO;
    // UNCONFIRMED which devices block saving; the fake follows tart's observations.
    if ([[self entropyDevices] count] > 0)
        return fail(error, @"Entropy devices do not support save and restore.");
    return YES;
}

@end
