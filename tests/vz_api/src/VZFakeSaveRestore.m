// Saving and restoring a fake VM's state (VZSaveRestore.h), with VZ's rules: the calls exist from
// macOS 14 only (on an older fake host they raise, as an unrecognised selector would), are made on
// the VM's queue, save only a Paused VM and restore only a Stopped one, pass through the Saving and
// Restoring states, and report VZErrorSave / VZErrorRestore.
//
// validateSaveRestoreSupportWithError: refuses what tart leaves out of its suspendable VMs: an
// entropy device, an audio input stream, and (vzkit's guess) a directory share. Which devices
// really block saving is UNCONFIRMED (VZ-API.md §19); the reasons' wording is vzkit's, made to
// name the configuration array as VZ's own reasons do.
//
// The stand-in state file is JSON: {"vzfake-saved-state": 1, "cpus": n, "memory": bytes,
// "devices": {"storage": n, ...}}; a restore into a configuration that differs fails with
// VZErrorRestore ("invalid argument"), as the framework's does for an incompatible one.
#import "VZFakeInternal.h"

// A category only: VZFakeStore.m refers to this so the static-library link keeps the file.
int VZFakeSaveRestoreLinked = 1;

typedef void (^Completion)(NSError *);

@interface VZVirtualMachine (VZFakePrivate)
- (void)checkQueue:(const char *)selector;
- (void)setStateValue:(VZVirtualMachineState)state;
- (void)later:(dispatch_block_t)body;
@end

static void require_macos_14(const char *selector)
{
    if (!VZModelOperatingSystemAtLeast(14))
        [NSException raise:NSInvalidArgumentException
                    format:@"-[VZVirtualMachine %s]: unrecognized selector (the host runs macOS %ld)", selector,
                           (long)VZFakeHostSettings()->osMajor];
}

/// What the stand-in file records of a configuration, to tell an incompatible restore.
static NSDictionary *summary_of(VZVirtualMachineConfiguration *c)
{
    NSDictionary *devices = [NSDictionary dictionaryWithObjectsAndKeys:
        [NSNumber numberWithUnsignedInteger:[[c storageDevices] count]], @"storage",
        [NSNumber numberWithUnsignedInteger:[[c networkDevices] count]], @"network",
        [NSNumber numberWithUnsignedInteger:[[c serialPorts] count]], @"serial",
        [NSNumber numberWithUnsignedInteger:[[c graphicsDevices] count]], @"graphics",
        [NSNumber numberWithUnsignedInteger:[[c memoryBalloonDevices] count]], @"balloon",
        [NSNumber numberWithUnsignedInteger:[[c socketDevices] count]], @"socket", nil];
    return [NSDictionary dictionaryWithObjectsAndKeys:
        [NSNumber numberWithInt:1], @"vzfake-saved-state",
        [NSNumber numberWithUnsignedInteger:[c CPUCount]], @"cpus",
        [NSNumber numberWithUnsignedLongLong:[c memorySize]], @"memory",
        devices, @"devices", nil];
}

@implementation VZVirtualMachineConfiguration (VZSaveRestore)

- (BOOL)validateSaveRestoreSupportWithError:(NSError **)error
{
    if (!VZModelOperatingSystemAtLeast(14))
        [NSException raise:NSInvalidArgumentException
                    format:@"-[VZVirtualMachineConfiguration validateSaveRestoreSupportWithError:]: unrecognized selector"];
    NSString *reason = nil;
    if ([[self entropyDevices] count] > 0)
        reason = @"Save and restore are not supported with an entropy device.";
    for (VZAudioDeviceConfiguration *audio in [self audioDevices])
        if ([audio isKindOfClass:[VZVirtioSoundDeviceConfiguration class]])
            for (id stream in [(VZVirtioSoundDeviceConfiguration *)audio streams])
                if ([stream isKindOfClass:[VZVirtioSoundDeviceInputStreamConfiguration class]] && !reason)
                    reason = @"Save and restore are not supported with an audio input stream.";
    if ([[self directorySharingDevices] count] > 0 && !reason)
        reason = @"Save and restore are not supported with a directory sharing device.";
    if (!reason)
        return YES;
    if (error)
        *error = VZFakeError(VZErrorInvalidVirtualMachineConfiguration, reason);
    return NO;
}

@end

@implementation VZVirtualMachine (VZSaveRestore)

- (void)saveMachineStateToURL:(NSURL *)saveFileURL completionHandler:(void (^)(NSError *))completionHandler
{
    require_macos_14("saveMachineStateToURL:completionHandler:");
    [self checkQueue:"saveMachineStateToURL:completionHandler:"];
    VZFakeRecordCall(self, "saveMachineStateToURL:completionHandler:", [self state]);
    Completion handler = Block_copy(completionHandler);
    if ([self state] != VZVirtualMachineStatePaused) {
        [self later:^{
            handler(VZFakeError(VZErrorInvalidVirtualMachineState, @"The virtual machine must be paused to be saved."));
            Block_release(handler);
        }];
        return;
    }
    VZVirtualMachineConfiguration *config = VZFakeGet(self, @"configuration");
    NSError *invalid = nil;
    NSError *failure = nil;
    if (![config validateSaveRestoreSupportWithError:&invalid]) {
        failure = VZFakeError(VZErrorSave, [[invalid userInfo] objectForKey:NSLocalizedFailureReasonErrorKey]);
    } else {
        NSData *data = [NSJSONSerialization dataWithJSONObject:summary_of(config) options:0 error:NULL];
        if (![saveFileURL isFileURL] || ![data writeToFile:[saveFileURL path] atomically:NO])
            failure = VZFakeError(VZErrorSave, @"The save file could not be written.");
    }
    [failure retain];
    [self setStateValue:VZVirtualMachineStateSaving];
    [self later:^{
        [self setStateValue:VZVirtualMachineStatePaused];
        handler(failure);
        [failure release];
        Block_release(handler);
    }];
}

- (void)restoreMachineStateFromURL:(NSURL *)saveFileURL completionHandler:(void (^)(NSError *))completionHandler
{
    require_macos_14("restoreMachineStateFromURL:completionHandler:");
    [self checkQueue:"restoreMachineStateFromURL:completionHandler:"];
    VZFakeRecordCall(self, "restoreMachineStateFromURL:completionHandler:", [self state]);
    Completion handler = Block_copy(completionHandler);
    if ([self state] != VZVirtualMachineStateStopped) {
        [self later:^{
            handler(VZFakeError(VZErrorInvalidVirtualMachineStateTransition, @"Invalid virtual machine state transition."));
            Block_release(handler);
        }];
        return;
    }
    NSError *failure = nil;
    NSData *data = [saveFileURL isFileURL] ? [NSData dataWithContentsOfFile:[saveFileURL path]] : nil;
    id saved = data ? [NSJSONSerialization JSONObjectWithData:data options:0 error:NULL] : nil;
    if (![saved isKindOfClass:[NSDictionary class]] || ![saved objectForKey:@"vzfake-saved-state"])
        failure = VZFakeError(VZErrorRestore, @"The save file is not readable or not a saved virtual machine state.");
    else if (![saved isEqual:summary_of(VZFakeGet(self, @"configuration"))])
        failure = VZFakeError(VZErrorRestore, @"Invalid argument: the configuration is not compatible with the saved state.");
    [failure retain];
    [self setStateValue:VZVirtualMachineStateRestoring];
    [self later:^{
        [self setStateValue:failure ? VZVirtualMachineStateStopped : VZVirtualMachineStatePaused];
        handler(failure);
        [failure release];
        Block_release(handler);
    }];
}

@end
