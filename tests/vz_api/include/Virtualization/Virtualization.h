// vzkit's API model of Virtualization.framework.
//
// The classes vzkit's plugins use (sdk/include/vzkit/vz/configuration.hpp), VZVirtualMachine and
// its delegate, the macOS installer (VZMacOSRestoreImage, VZMacOSConfigurationRequirements,
// VZMacOSInstaller), the error domain and VZMACAddress, declared as the macOS SDK declares them: the
// same class names, superclasses, selectors, argument and return types, nullability, enum values
// and availability (written from shared/VZ-API.md). Used only where the real framework is absent
// (Linux with GNUstep), together with the recording fake in tests/vz_api/src.
//
// The declarations are the same on GCC's Objective-C runtime; only the fake's implementation
// differs (it keeps `weak` properties as unretained references, having no zeroing weak refs).
// Apple's per-class headers are merged into this one file, in the same order of dependencies.
#pragma once

#import <Foundation/Foundation.h>
#import <Virtualization/VZDefines.h>

#if defined(__APPLE__)
#import <AppKit/AppKit.h>
#endif

#include <dispatch/dispatch.h>

NS_ASSUME_NONNULL_BEGIN

@class VZVirtualMachine;
@class VZNetworkDevice;
@class VZMacHardwareModel;

// =================================================================================================
// Errors
// =================================================================================================

VZ_EXPORT NSErrorDomain const VZErrorDomain API_AVAILABLE(macos(11.0));

typedef NS_ERROR_ENUM(VZErrorDomain, VZErrorCode) {
    VZErrorInternal API_AVAILABLE(macos(11.0)) NS_SWIFT_NAME(internalError) = 1,
    VZErrorInvalidVirtualMachineConfiguration API_AVAILABLE(macos(11.0)) = 2,
    VZErrorInvalidVirtualMachineState API_AVAILABLE(macos(11.0)) = 3,
    VZErrorInvalidVirtualMachineStateTransition API_AVAILABLE(macos(11.0)) = 4,
    VZErrorInvalidDiskImage API_AVAILABLE(macos(11.0)) = 5,
    VZErrorVirtualMachineLimitExceeded API_AVAILABLE(macos(12.0)) = 6,
    VZErrorNetworkError API_AVAILABLE(macos(13.0)) = 7,
    VZErrorOutOfDiskSpace API_AVAILABLE(macos(13.0)) = 8,
    VZErrorOperationCancelled API_AVAILABLE(macos(13.0)) = 9,
    VZErrorNotSupported API_AVAILABLE(macos(13.0)) = 10,
    VZErrorSave API_AVAILABLE(macos(14.0)) = 11,
    VZErrorRestore API_AVAILABLE(macos(14.0)) = 12,
    VZErrorRestoreImageCatalogLoadFailed API_AVAILABLE(macos(13.0)) = 10001,
    VZErrorInvalidRestoreImageCatalog API_AVAILABLE(macos(13.0)) = 10002,
    VZErrorNoSupportedRestoreImagesInCatalog API_AVAILABLE(macos(13.0)) = 10003,
    VZErrorRestoreImageLoadFailed API_AVAILABLE(macos(13.0)) = 10004,
    VZErrorInvalidRestoreImage API_AVAILABLE(macos(13.0)) = 10005,
    VZErrorInstallationRequiresUpdate API_AVAILABLE(macos(13.0)) = 10006,
    VZErrorInstallationFailed API_AVAILABLE(macos(13.0)) = 10007,
    VZErrorNetworkBlockDeviceNegotiationFailed API_AVAILABLE(macos(14.0)) = 20001,
    VZErrorNetworkBlockDeviceDisconnected API_AVAILABLE(macos(14.0)) = 20002,
    VZErrorUSBControllerNotFound API_AVAILABLE(macos(15.0)) = 30001,
    VZErrorDeviceAlreadyAttached API_AVAILABLE(macos(15.0)) = 30002,
    VZErrorDeviceInitializationFailure API_AVAILABLE(macos(15.0)) = 30003,
    VZErrorDeviceNotFound API_AVAILABLE(macos(15.0)) = 30004,
} API_AVAILABLE(macos(11.0));

// =================================================================================================
// Platforms and identity
// =================================================================================================

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZPlatformConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(13.0))
@interface VZGenericMachineIdentifier : NSObject <NSCopying>
- (instancetype)init;
- (nullable instancetype)initWithDataRepresentation:(NSData *)dataRepresentation;
@property (readonly, copy) NSData *dataRepresentation;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZGenericPlatformConfiguration : VZPlatformConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@property (copy) VZGenericMachineIdentifier *machineIdentifier API_AVAILABLE(macos(13.0));
@property (class, readonly, getter=isNestedVirtualizationSupported) BOOL nestedVirtualizationSupported API_AVAILABLE(macos(15.0));
@property (readwrite, getter=isNestedVirtualizationEnabled) BOOL nestedVirtualizationEnabled API_AVAILABLE(macos(15.0));
@end

#if VZ_MODEL_HAS_MAC_GUESTS

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZMacHardwareModel : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
- (nullable instancetype)initWithDataRepresentation:(NSData *)dataRepresentation;
@property (readonly, copy) NSData *dataRepresentation;
@property (readonly, getter=isSupported) BOOL supported;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZMacMachineIdentifier : NSObject <NSCopying>
- (instancetype)init;
- (nullable instancetype)initWithDataRepresentation:(NSData *)dataRepresentation;
@property (readonly, copy) NSData *dataRepresentation;
@end

typedef NS_OPTIONS(NSUInteger, VZMacAuxiliaryStorageInitializationOptions) {
    VZMacAuxiliaryStorageInitializationOptionAllowOverwrite = 1 << 0,
} NS_SWIFT_NAME(VZMacAuxiliaryStorage.InitializationOptions) API_AVAILABLE(macos(12.0));

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZMacAuxiliaryStorage : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
- (instancetype)initWithURL:(NSURL *)URL API_AVAILABLE(macos(13.0));
- (nullable instancetype)initCreatingStorageAtURL:(NSURL *)URL hardwareModel:(VZMacHardwareModel *)hardwareModel options:(VZMacAuxiliaryStorageInitializationOptions)options error:(NSError **)error;
@property (readonly, copy) NSURL *URL;
@end

@interface VZMacAuxiliaryStorage (VZDeprecated)
- (instancetype)initWithContentsOfURL:(NSURL *)URL API_DEPRECATED_WITH_REPLACEMENT("initWithURL:", macos(12.0, 13.0));
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZMacPlatformConfiguration : VZPlatformConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@property (copy) VZMacHardwareModel *hardwareModel;
@property (copy) VZMacMachineIdentifier *machineIdentifier;
@property (nullable, strong) VZMacAuxiliaryStorage *auxiliaryStorage;
@end

#endif  // VZ_MODEL_HAS_MAC_GUESTS

// =================================================================================================
// Boot loaders
// =================================================================================================

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZBootLoader : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZLinuxBootLoader : VZBootLoader
- (instancetype)initWithKernelURL:(NSURL *)kernelURL NS_DESIGNATED_INITIALIZER;
@property (copy) NSURL *kernelURL;
@property (copy) NSString *commandLine;
@property (nullable, copy) NSURL *initialRamdiskURL;
@end

typedef NS_OPTIONS(NSUInteger, VZEFIVariableStoreInitializationOptions) {
    VZEFIVariableStoreInitializationOptionAllowOverwrite = 1 << 0,
} NS_SWIFT_NAME(VZEFIVariableStore.InitializationOptions) API_AVAILABLE(macos(13.0));

VZ_EXPORT API_AVAILABLE(macos(13.0))
@interface VZEFIVariableStore : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
- (instancetype)initWithURL:(NSURL *)URL;
- (nullable instancetype)initCreatingVariableStoreAtURL:(NSURL *)URL options:(VZEFIVariableStoreInitializationOptions)options error:(NSError **)error;
@property (readonly, copy) NSURL *URL;
@end

VZ_EXPORT API_AVAILABLE(macos(13.0))
@interface VZEFIBootLoader : VZBootLoader
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@property (nullable, strong) VZEFIVariableStore *variableStore;
@end

#if VZ_MODEL_HAS_MAC_GUESTS
VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZMacOSBootLoader : VZBootLoader
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end
#endif

// =================================================================================================
// Storage
// =================================================================================================

typedef NS_ENUM(NSInteger, VZDiskImageCachingMode) {
    VZDiskImageCachingModeAutomatic = 0,
    VZDiskImageCachingModeUncached = 1,
    VZDiskImageCachingModeCached = 2,
} API_AVAILABLE(macos(12.0));

typedef NS_ENUM(NSInteger, VZDiskImageSynchronizationMode) {
    VZDiskImageSynchronizationModeFull = 1,
    VZDiskImageSynchronizationModeFsync = 2,
    VZDiskImageSynchronizationModeNone = 3,
} API_AVAILABLE(macos(12.0));

typedef NS_ENUM(NSInteger, VZDiskSynchronizationMode) {
    VZDiskSynchronizationModeFull = 0,
    VZDiskSynchronizationModeNone = 1,
} API_AVAILABLE(macos(14.0));

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZStorageDeviceAttachment : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZDiskImageStorageDeviceAttachment : VZStorageDeviceAttachment
- (nullable instancetype)initWithURL:(NSURL *)url readOnly:(BOOL)readOnly error:(NSError **)error NS_DESIGNATED_INITIALIZER;
- (nullable instancetype)initWithURL:(NSURL *)url readOnly:(BOOL)readOnly cachingMode:(VZDiskImageCachingMode)cachingMode synchronizationMode:(VZDiskImageSynchronizationMode)synchronizationMode error:(NSError **)error NS_DESIGNATED_INITIALIZER API_AVAILABLE(macos(12.0));
@property (readonly, copy) NSURL *URL;
@property (readonly, getter=isReadOnly) BOOL readOnly;
@property (readonly) VZDiskImageCachingMode cachingMode API_AVAILABLE(macos(12.0));
@property (readonly) VZDiskImageSynchronizationMode synchronizationMode API_AVAILABLE(macos(12.0));
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZStorageDeviceConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@property (readonly, strong) VZStorageDeviceAttachment *attachment;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZVirtioBlockDeviceConfiguration : VZStorageDeviceConfiguration
- (instancetype)initWithAttachment:(VZStorageDeviceAttachment *)attachment NS_DESIGNATED_INITIALIZER;
+ (BOOL)validateBlockDeviceIdentifier:(NSString *)blockDeviceIdentifier error:(NSError **)error API_AVAILABLE(macos(12.3));
@property (copy) NSString *blockDeviceIdentifier API_AVAILABLE(macos(12.3));
@end

API_AVAILABLE(macos(15.0))
@protocol VZUSBDeviceConfiguration <NSObject>
@property (readwrite, copy) NSUUID *uuid;
@end

VZ_EXPORT API_AVAILABLE(macos(13.0))
@interface VZUSBMassStorageDeviceConfiguration : VZStorageDeviceConfiguration <VZUSBDeviceConfiguration>
- (instancetype)initWithAttachment:(VZStorageDeviceAttachment *)attachment NS_DESIGNATED_INITIALIZER;
@property (readwrite, copy) NSUUID *uuid API_AVAILABLE(macos(15.0));
@end

VZ_EXPORT API_AVAILABLE(macos(14.0))
@interface VZNVMExpressControllerDeviceConfiguration : VZStorageDeviceConfiguration
- (instancetype)initWithAttachment:(VZStorageDeviceAttachment *)attachment NS_DESIGNATED_INITIALIZER;
@end

// =================================================================================================
// Network
// =================================================================================================

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZMACAddress : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
- (instancetype)initWithEthernetAddress:(ether_addr_t)ethernetAddress NS_DESIGNATED_INITIALIZER;
- (nullable instancetype)initWithString:(NSString *)string;
+ (instancetype)randomLocallyAdministeredAddress;
@property (readonly) ether_addr_t ethernetAddress;
@property (readonly, copy) NSString *string;
// The SDK names these properties with their "is" (property and getter alike).
@property (readonly, getter=isBroadcastAddress) BOOL isBroadcastAddress;
@property (readonly, getter=isMulticastAddress) BOOL isMulticastAddress;
@property (readonly, getter=isUnicastAddress) BOOL isUnicastAddress;
@property (readonly, getter=isLocallyAdministeredAddress) BOOL isLocallyAdministeredAddress;
@property (readonly, getter=isUniversallyAdministeredAddress) BOOL isUniversallyAdministeredAddress;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZNetworkDeviceAttachment : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZNATNetworkDeviceAttachment : VZNetworkDeviceAttachment
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZFileHandleNetworkDeviceAttachment : VZNetworkDeviceAttachment
- (instancetype)initWithFileHandle:(NSFileHandle *)fileHandle NS_DESIGNATED_INITIALIZER;
@property (readonly, strong) NSFileHandle *fileHandle;
@property (readwrite) NSInteger maximumTransmissionUnit API_AVAILABLE(macos(13.0));
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZNetworkDeviceConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@property (readwrite, copy) VZMACAddress *MACAddress;
@property (readwrite, nullable, strong) VZNetworkDeviceAttachment *attachment;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZVirtioNetworkDeviceConfiguration : VZNetworkDeviceConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end

// =================================================================================================
// Serial ports and consoles
// =================================================================================================

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZSerialPortAttachment : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZFileHandleSerialPortAttachment : VZSerialPortAttachment
- (instancetype)initWithFileHandleForReading:(nullable NSFileHandle *)fileHandleForReading fileHandleForWriting:(nullable NSFileHandle *)fileHandleForWriting NS_DESIGNATED_INITIALIZER;
@property (readonly, nullable, strong) NSFileHandle *fileHandleForReading;
@property (readonly, nullable, strong) NSFileHandle *fileHandleForWriting;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZFileSerialPortAttachment : VZSerialPortAttachment
- (nullable instancetype)initWithURL:(NSURL *)url append:(BOOL)shouldAppend error:(NSError **)error NS_DESIGNATED_INITIALIZER;
@property (readonly, copy) NSURL *URL;
@property (readonly) BOOL append;
@end

VZ_EXPORT API_AVAILABLE(macos(13.0))
@interface VZSpiceAgentPortAttachment : VZSerialPortAttachment
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@property BOOL sharesClipboard;
@property (class, readonly, copy) NSString *spiceAgentPortName;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZSerialPortConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@property (readwrite, nullable, strong) VZSerialPortAttachment *attachment;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZVirtioConsoleDeviceSerialPortConfiguration : VZSerialPortConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end

VZ_EXPORT API_AVAILABLE(macos(13.0))
@interface VZConsolePortConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@property (nullable, strong) VZSerialPortAttachment *attachment;
@end

VZ_EXPORT API_AVAILABLE(macos(13.0))
@interface VZVirtioConsolePortConfiguration : VZConsolePortConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@property (nullable, copy) NSString *name;
@property BOOL isConsole;
@end

VZ_EXPORT API_AVAILABLE(macos(13.0))
@interface VZVirtioConsolePortConfigurationArray : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@property uint32_t maximumPortCount;
- (nullable VZVirtioConsolePortConfiguration *)objectAtIndexedSubscript:(NSUInteger)portIndex;
- (void)setObject:(nullable VZVirtioConsolePortConfiguration *)configuration atIndexedSubscript:(NSUInteger)portIndex;
@end

VZ_EXPORT API_AVAILABLE(macos(13.0))
@interface VZConsoleDeviceConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(13.0))
@interface VZVirtioConsoleDeviceConfiguration : VZConsoleDeviceConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@property (readonly, strong) VZVirtioConsolePortConfigurationArray *ports;
@end

// =================================================================================================
// Entropy, memory balloon, socket
// =================================================================================================

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZEntropyDeviceConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZVirtioEntropyDeviceConfiguration : VZEntropyDeviceConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZMemoryBalloonDeviceConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZVirtioTraditionalMemoryBalloonDeviceConfiguration : VZMemoryBalloonDeviceConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZSocketDeviceConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZVirtioSocketDeviceConfiguration : VZSocketDeviceConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end

// =================================================================================================
// Directory sharing and Rosetta
// =================================================================================================

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZSharedDirectory : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
- (instancetype)initWithURL:(NSURL *)url readOnly:(BOOL)readOnly NS_DESIGNATED_INITIALIZER;
@property (readonly, copy) NSURL *URL;
@property (readonly, getter=isReadOnly) BOOL readOnly;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZDirectoryShare : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZSingleDirectoryShare : VZDirectoryShare
- (instancetype)initWithDirectory:(VZSharedDirectory *)directory NS_DESIGNATED_INITIALIZER;
@property (readonly, strong) VZSharedDirectory *directory;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZMultipleDirectoryShare : VZDirectoryShare
- (instancetype)init;
- (instancetype)initWithDirectories:(NSDictionary<NSString *, VZSharedDirectory *> *)directories NS_DESIGNATED_INITIALIZER;
+ (BOOL)validateName:(NSString *)name error:(NSError **)error;
+ (nullable NSString *)canonicalizedNameFromName:(NSString *)name;
@property (readonly, copy) NSDictionary<NSString *, VZSharedDirectory *> *directories;
@end

#if VZ_MODEL_HAS_MAC_GUESTS

typedef NS_ENUM(NSInteger, VZLinuxRosettaAvailability) {
    VZLinuxRosettaAvailabilityNotSupported = 0,
    VZLinuxRosettaAvailabilityNotInstalled = 1,
    VZLinuxRosettaAvailabilityInstalled = 2,
} API_AVAILABLE(macos(13.0));

VZ_EXPORT API_AVAILABLE(macos(14.0))
@interface VZLinuxRosettaCachingOptions : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(14.0))
@interface VZLinuxRosettaUnixSocketCachingOptions : VZLinuxRosettaCachingOptions
- (nullable instancetype)initWithPath:(NSString *)path error:(NSError **)error NS_DESIGNATED_INITIALIZER;
- (instancetype)init;
@property (readonly, copy) NSString *path;
@property (class, readonly) NSUInteger maximumPathLength;
@end

VZ_EXPORT API_AVAILABLE(macos(14.0))
@interface VZLinuxRosettaAbstractSocketCachingOptions : VZLinuxRosettaCachingOptions
- (nullable instancetype)initWithName:(NSString *)name error:(NSError **)error NS_DESIGNATED_INITIALIZER;
@property (readonly, copy) NSString *name;
@property (class, readonly) NSUInteger maximumNameLength;
@end

VZ_EXPORT API_AVAILABLE(macos(13.0))
@interface VZLinuxRosettaDirectoryShare : VZDirectoryShare
- (nullable instancetype)initWithError:(NSError **)error NS_DESIGNATED_INITIALIZER;
+ (void)installRosettaWithCompletionHandler:(void (^)(NSError * _Nullable error))completionHandler;
@property (class, readonly) VZLinuxRosettaAvailability availability;
// The 14 SDK header was not read: the name `options` is Apple's (its documentation page is
// VZLinuxRosettaDirectoryShare/options); the attributes (nullable, strong) are UNCONFIRMED.
@property (nullable, strong) VZLinuxRosettaCachingOptions *options API_AVAILABLE(macos(14.0));
@end

#endif  // VZ_MODEL_HAS_MAC_GUESTS

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZDirectorySharingDeviceConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZVirtioFileSystemDeviceConfiguration : VZDirectorySharingDeviceConfiguration
- (instancetype)initWithTag:(NSString *)tag NS_DESIGNATED_INITIALIZER;
+ (BOOL)validateTag:(NSString *)tag error:(NSError **)error;
@property (copy) NSString *tag;
@property (nullable, strong) VZDirectoryShare *share;
@property (class, readonly) NSString *macOSGuestAutomountTag API_AVAILABLE(macos(13.0));
@end

// =================================================================================================
// Graphics
// =================================================================================================

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZGraphicsDeviceConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(14.0))
@interface VZGraphicsDisplayConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(13.0))
@interface VZVirtioGraphicsScanoutConfiguration : VZGraphicsDisplayConfiguration
- (instancetype)initWithWidthInPixels:(NSInteger)widthInPixels heightInPixels:(NSInteger)heightInPixels NS_DESIGNATED_INITIALIZER;
@property NSInteger widthInPixels;
@property NSInteger heightInPixels;
@end

VZ_EXPORT API_AVAILABLE(macos(13.0))
@interface VZVirtioGraphicsDeviceConfiguration : VZGraphicsDeviceConfiguration
- (instancetype)init;
@property (copy) NSArray<VZVirtioGraphicsScanoutConfiguration *> *scanouts;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZMacGraphicsDisplayConfiguration : VZGraphicsDisplayConfiguration
- (instancetype)initWithWidthInPixels:(NSInteger)widthInPixels heightInPixels:(NSInteger)heightInPixels pixelsPerInch:(NSInteger)pixelsPerInch NS_DESIGNATED_INITIALIZER;
#if defined(__APPLE__)
- (instancetype)initForScreen:(NSScreen *)screen sizeInPoints:(NSSize)sizeInPoints;
#endif
@property NSInteger widthInPixels;
@property NSInteger heightInPixels;
@property NSInteger pixelsPerInch;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZMacGraphicsDeviceConfiguration : VZGraphicsDeviceConfiguration
- (instancetype)init;
@property (copy) NSArray<VZMacGraphicsDisplayConfiguration *> *displays;
@end

// =================================================================================================
// Keyboards and pointing devices
// =================================================================================================

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZKeyboardConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZUSBKeyboardConfiguration : VZKeyboardConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end

#if VZ_MODEL_HAS_MAC_GUESTS
VZ_EXPORT API_AVAILABLE(macos(14.0))
@interface VZMacKeyboardConfiguration : VZKeyboardConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end
#endif

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZPointingDeviceConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZUSBScreenCoordinatePointingDeviceConfiguration : VZPointingDeviceConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end

#if VZ_MODEL_HAS_MAC_GUESTS
VZ_EXPORT API_AVAILABLE(macos(13.0))
@interface VZMacTrackpadConfiguration : VZPointingDeviceConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end
#endif

// =================================================================================================
// Audio
// =================================================================================================

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZAudioInputStreamSource : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZHostAudioInputStreamSource : VZAudioInputStreamSource
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZAudioOutputStreamSink : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZHostAudioOutputStreamSink : VZAudioOutputStreamSink
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZVirtioSoundDeviceStreamConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZVirtioSoundDeviceInputStreamConfiguration : VZVirtioSoundDeviceStreamConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@property (nullable, strong) VZAudioInputStreamSource *source;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZVirtioSoundDeviceOutputStreamConfiguration : VZVirtioSoundDeviceStreamConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@property (nullable, strong) VZAudioOutputStreamSink *sink;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZAudioDeviceConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZVirtioSoundDeviceConfiguration : VZAudioDeviceConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@property (copy) NSArray<VZVirtioSoundDeviceStreamConfiguration *> *streams;
@end

// =================================================================================================
// USB controllers
// =================================================================================================

VZ_EXPORT API_AVAILABLE(macos(15.0))
@interface VZUSBControllerConfiguration : NSObject <NSCopying>
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@property (readwrite, copy) NSArray<id<VZUSBDeviceConfiguration>> *usbDevices;
@end

VZ_EXPORT API_AVAILABLE(macos(15.0))
@interface VZXHCIControllerConfiguration : VZUSBControllerConfiguration
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@end

// =================================================================================================
// Virtual machine configuration
// =================================================================================================

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZVirtualMachineConfiguration : NSObject <NSCopying>
- (instancetype)init NS_DESIGNATED_INITIALIZER;
@property (nullable, strong) VZBootLoader *bootLoader;
@property uint64_t memorySize;
@property NSUInteger CPUCount;
@property (strong) VZPlatformConfiguration *platform API_AVAILABLE(macos(12.0));
@property (copy) NSArray<VZAudioDeviceConfiguration *> *audioDevices API_AVAILABLE(macos(12.0));
@property (copy) NSArray<VZConsoleDeviceConfiguration *> *consoleDevices API_AVAILABLE(macos(13.0));
@property (copy) NSArray<VZDirectorySharingDeviceConfiguration *> *directorySharingDevices API_AVAILABLE(macos(12.0));
@property (copy) NSArray<VZEntropyDeviceConfiguration *> *entropyDevices;
@property (copy) NSArray<VZMemoryBalloonDeviceConfiguration *> *memoryBalloonDevices;
@property (copy) NSArray<VZNetworkDeviceConfiguration *> *networkDevices;
@property (copy) NSArray<VZSerialPortConfiguration *> *serialPorts;
@property (copy) NSArray<VZSocketDeviceConfiguration *> *socketDevices;
@property (copy) NSArray<VZStorageDeviceConfiguration *> *storageDevices;
@property (copy) NSArray<VZKeyboardConfiguration *> *keyboards API_AVAILABLE(macos(12.0));
@property (copy) NSArray<VZPointingDeviceConfiguration *> *pointingDevices API_AVAILABLE(macos(12.0));
@property (copy) NSArray<VZGraphicsDeviceConfiguration *> *graphicsDevices API_AVAILABLE(macos(12.0));
@property (copy) NSArray<VZUSBControllerConfiguration *> *usbControllers API_AVAILABLE(macos(15.0));
@end

@interface VZVirtualMachineConfiguration (VZVirtualMachineConfigurationValidation)
- (BOOL)validateWithError:(NSError **)error;
#if VZ_MODEL_HAS_MAC_GUESTS
- (BOOL)validateSaveRestoreSupportWithError:(NSError **)error API_AVAILABLE(macos(14.0));
#endif
@property (class, readonly) uint64_t minimumAllowedMemorySize;
@property (class, readonly) uint64_t maximumAllowedMemorySize;
@property (class, readonly) NSUInteger minimumAllowedCPUCount;
@property (class, readonly) NSUInteger maximumAllowedCPUCount;
@end

// =================================================================================================
// Virtual machine
// =================================================================================================

typedef NS_ENUM(NSInteger, VZVirtualMachineState) {
    VZVirtualMachineStateStopped,
    VZVirtualMachineStateRunning,
    VZVirtualMachineStatePaused,
    VZVirtualMachineStateError,
    VZVirtualMachineStateStarting,
    VZVirtualMachineStatePausing,
    VZVirtualMachineStateResuming,
    VZVirtualMachineStateStopping API_AVAILABLE(macos(12.0)),
    VZVirtualMachineStateSaving API_AVAILABLE(macos(14.0)),
    VZVirtualMachineStateRestoring API_AVAILABLE(macos(14.0)),
} API_AVAILABLE(macos(11.0));

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZNetworkDevice : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@property (nullable, strong) VZNetworkDeviceAttachment *attachment;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZSocketDevice : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZVirtioSocketConnection : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
- (void)close;
@property (readonly) uint32_t destinationPort;
@property (readonly) uint32_t sourcePort;
@property (readonly) int fileDescriptor;
@end

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZVirtioSocketDevice : VZSocketDevice
- (void)connectToPort:(uint32_t)port completionHandler:(void (^)(VZVirtioSocketConnection * _Nullable connection, NSError * _Nullable error))completionHandler;
@end

API_AVAILABLE(macos(11.0))
@protocol VZVirtualMachineDelegate <NSObject>
@optional
- (void)guestDidStopVirtualMachine:(VZVirtualMachine *)virtualMachine;
- (void)virtualMachine:(VZVirtualMachine *)virtualMachine didStopWithError:(NSError *)error;
- (void)virtualMachine:(VZVirtualMachine *)virtualMachine networkDevice:(VZNetworkDevice *)networkDevice attachmentWasDisconnectedWithError:(NSError *)error API_AVAILABLE(macos(12.0));
@end

VZ_EXPORT API_AVAILABLE(macos(13.0))
@interface VZVirtualMachineStartOptions : NSObject
@end

#if VZ_MODEL_HAS_MAC_GUESTS
VZ_EXPORT API_AVAILABLE(macos(13.0))
@interface VZMacOSVirtualMachineStartOptions : VZVirtualMachineStartOptions
@property BOOL startUpFromMacOSRecovery;
@end
#endif

VZ_EXPORT API_AVAILABLE(macos(11.0))
@interface VZVirtualMachine : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
- (instancetype)initWithConfiguration:(VZVirtualMachineConfiguration *)configuration;
- (instancetype)initWithConfiguration:(VZVirtualMachineConfiguration *)configuration queue:(dispatch_queue_t)queue NS_DESIGNATED_INITIALIZER;
@property (class, readonly, getter=isSupported) BOOL supported;
@property (readonly) VZVirtualMachineState state;
@property (nullable, weak) id<VZVirtualMachineDelegate> delegate;
@property (readonly) BOOL canStart;
@property (readonly) BOOL canStop API_AVAILABLE(macos(12.0));
@property (readonly) BOOL canPause;
@property (readonly) BOOL canResume;
@property (readonly) BOOL canRequestStop;
@property (readonly, copy) NSArray<VZSocketDevice *> *socketDevices;
- (void)startWithCompletionHandler:(void (^)(NSError * _Nullable errorOrNil))completionHandler;
- (void)startWithOptions:(VZVirtualMachineStartOptions *)options completionHandler:(void (^)(NSError * _Nullable errorOrNil))completionHandler API_AVAILABLE(macos(13.0));
- (void)stopWithCompletionHandler:(void (^)(NSError * _Nullable errorOrNil))completionHandler API_AVAILABLE(macos(12.0));
- (void)pauseWithCompletionHandler:(void (^)(NSError * _Nullable errorOrNil))completionHandler;
- (void)resumeWithCompletionHandler:(void (^)(NSError * _Nullable errorOrNil))completionHandler;
- (BOOL)requestStopWithError:(NSError **)error;
@end

// =================================================================================================
// macOS installation
// =================================================================================================

#if VZ_MODEL_HAS_MAC_GUESTS

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZMacOSConfigurationRequirements : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
@property (readonly, copy) VZMacHardwareModel *hardwareModel;
@property (readonly) NSUInteger minimumSupportedCPUCount;
@property (readonly) uint64_t minimumSupportedMemorySize;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZMacOSRestoreImage : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
+ (void)loadFileURL:(NSURL *)fileURL completionHandler:(void (^)(VZMacOSRestoreImage * _Nullable, NSError * _Nullable))completionHandler NS_REFINED_FOR_SWIFT NS_SWIFT_ASYNC_NAME(image(from:));
+ (void)fetchLatestSupportedWithCompletionHandler:(void (^)(VZMacOSRestoreImage * _Nullable, NSError * _Nullable))completionHandler NS_REFINED_FOR_SWIFT NS_SWIFT_ASYNC_NAME(getter:latestSupported());
@property (readonly, getter=isSupported) BOOL supported API_AVAILABLE(macos(13.0));
@property (readonly, copy) NSURL *URL;
@property (readonly, copy) NSString *buildVersion;
@property (readonly) NSOperatingSystemVersion operatingSystemVersion;
@property (readonly, copy, nullable) VZMacOSConfigurationRequirements *mostFeaturefulSupportedConfiguration;
@end

VZ_EXPORT API_AVAILABLE(macos(12.0))
@interface VZMacOSInstaller : NSObject
+ (instancetype)new NS_UNAVAILABLE;
- (instancetype)init NS_UNAVAILABLE;
- (instancetype)initWithVirtualMachine:(VZVirtualMachine *)virtualMachine restoreImageURL:(NSURL *)restoreImageFileURL NS_SWIFT_NAME(init(virtualMachine:restoringFromImageAt:)) NS_DESIGNATED_INITIALIZER;
- (void)installWithCompletionHandler:(void (^)(NSError * _Nullable))completionHandler NS_REFINED_FOR_SWIFT NS_SWIFT_ASYNC_NAME(install());
@property (readonly) NSProgress *progress;
@property (readonly) VZVirtualMachine *virtualMachine;
@property (readonly) NSURL *restoreImageURL;
@end

#endif  // VZ_MODEL_HAS_MAC_GUESTS

// =================================================================================================
// View (AppKit)
// =================================================================================================

// An NSView in the SDK. AppKit is not there on Linux, so the model makes it a plain object with
// the same properties: what the window app sets on its view is built and checked there too.
VZ_EXPORT API_AVAILABLE(macos(12.0))
#if defined(__APPLE__)
@interface VZVirtualMachineView : NSView
#else
@interface VZVirtualMachineView : NSObject
#endif
@property (nullable, strong) VZVirtualMachine *virtualMachine;
@property BOOL capturesSystemKeys;
@property BOOL automaticallyReconfiguresDisplay API_AVAILABLE(macos(14.0));
@end

NS_ASSUME_NONNULL_END

#import <Virtualization/VZSaveRestore.h>
