// The recording fake's configuration classes: plain objects that keep what they were given.
// Initializers record themselves; failable initializers fail the way the framework documents
// (missing file, bad data, Rosetta absent). Only the auxiliary storage writes to disk (a stand-in
// file, where the framework writes the real storage).
#import "VZFakeInternal.h"

#include <stdlib.h>

NSErrorDomain const VZErrorDomain = @"VZErrorDomain";

static NSError *file_error(NSURL *url, NSString *what)
{
    // UNCONFIRMED: the domain and code VZ uses for a missing file; the bridge only needs a reason.
    NSString *reason = [NSString stringWithFormat:@"%@ \"%@\" does not exist.", what, [url path]];
    NSDictionary *info = [NSDictionary dictionaryWithObjectsAndKeys:reason, NSLocalizedDescriptionKey, reason,
                                       NSLocalizedFailureReasonErrorKey, nil];
    return [NSError errorWithDomain:NSCocoaErrorDomain code:260 userInfo:info];
}

static BOOL file_exists(NSURL *url)
{
    return [[NSFileManager defaultManager] fileExistsAtPath:[url path]];
}

static void set_error(NSError **error, NSError *value)
{
    if (error)
        *error = value;
}

// =================================================================================================
// Platforms and identity
// =================================================================================================

@implementation VZPlatformConfiguration
FAKE_ROOT_METHODS
@end

@implementation VZGenericMachineIdentifier
FAKE_ROOT_METHODS
- (instancetype)init
{
    self = [super init];
    unsigned char bytes[16];
    for (size_t i = 0; i < sizeof bytes; ++i)
        bytes[i] = (unsigned char)random();
    VZFakeSet(self, @"dataRepresentation", [NSData dataWithBytes:bytes length:sizeof bytes]);
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
- (instancetype)initWithDataRepresentation:(NSData *)dataRepresentation
{
    self = [super init];
    if ([dataRepresentation length] == 0) {
        [self release];
        return nil;
    }
    VZFakeSet(self, @"dataRepresentation", [[dataRepresentation copy] autorelease]);
    VZFakeRecordCreation(self, "initWithDataRepresentation:", [NSArray arrayWithObject:dataRepresentation]);
    return self;
}
FAKE_READONLY(NSData *, dataRepresentation, @"dataRepresentation")
@end

@implementation VZGenericPlatformConfiguration
- (instancetype)init
{
    self = [super init];
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
FAKE_COPY(VZGenericMachineIdentifier *, machineIdentifier, setMachineIdentifier, @"machineIdentifier")
FAKE_BOOL(isNestedVirtualizationEnabled, setNestedVirtualizationEnabled, @"nestedVirtualizationEnabled")
+ (BOOL)isNestedVirtualizationSupported
{
    return VZFakeHostSettings()->nestedVirtualizationSupported;
}
@end

@implementation VZMacHardwareModel
FAKE_ROOT_METHODS
- (instancetype)initWithDataRepresentation:(NSData *)dataRepresentation
{
    self = [super init];
    if ([dataRepresentation length] == 0) {
        [self release];
        return nil;
    }
    VZFakeSet(self, @"dataRepresentation", [[dataRepresentation copy] autorelease]);
    VZFakeRecordCreation(self, "initWithDataRepresentation:", [NSArray arrayWithObject:dataRepresentation]);
    return self;
}
FAKE_READONLY(NSData *, dataRepresentation, @"dataRepresentation")
- (BOOL)isSupported
{
    return VZFakeHostSettings()->hardwareModelSupported;
}
@end

@implementation VZMacMachineIdentifier
FAKE_ROOT_METHODS
- (instancetype)init
{
    self = [super init];
    unsigned char bytes[16];
    for (size_t i = 0; i < sizeof bytes; ++i)
        bytes[i] = (unsigned char)random();
    VZFakeSet(self, @"dataRepresentation", [NSData dataWithBytes:bytes length:sizeof bytes]);
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
- (instancetype)initWithDataRepresentation:(NSData *)dataRepresentation
{
    self = [super init];
    if ([dataRepresentation length] == 0) {
        [self release];
        return nil;
    }
    VZFakeSet(self, @"dataRepresentation", [[dataRepresentation copy] autorelease]);
    VZFakeRecordCreation(self, "initWithDataRepresentation:", [NSArray arrayWithObject:dataRepresentation]);
    return self;
}
FAKE_READONLY(NSData *, dataRepresentation, @"dataRepresentation")
@end

@implementation VZMacAuxiliaryStorage
FAKE_ROOT_METHODS
- (instancetype)initWithURL:(NSURL *)URL
{
    self = [super init];
    VZFakeSet(self, @"URL", URL);
    VZFakeRecordCreation(self, "initWithURL:", [NSArray arrayWithObject:URL]);
    return self;
}
- (instancetype)initCreatingStorageAtURL:(NSURL *)URL
                           hardwareModel:(VZMacHardwareModel *)hardwareModel
                                 options:(VZMacAuxiliaryStorageInitializationOptions)options
                                   error:(NSError **)error
{
    self = [super init];
    // UNCONFIRMED: that an existing file without AllowOverwrite is an error (inferred from the option).
    if (file_exists(URL) && !(options & VZMacAuxiliaryStorageInitializationOptionAllowOverwrite)) {
        set_error(error, VZFakeError(VZErrorInternal, @"The auxiliary storage file already exists."));
        [self release];
        return nil;
    }
    // The framework writes the storage (about 32 MB of boot data); the fake writes a stand-in.
    NSData *stand_in = [@"vzfake-auxiliary-storage\n" dataUsingEncoding:NSUTF8StringEncoding];
    if (![stand_in writeToFile:[URL path] atomically:NO]) {
        set_error(error, VZFakeError(VZErrorInternal, @"The auxiliary storage file could not be created."));
        [self release];
        return nil;
    }
    VZFakeSet(self, @"URL", URL);
    VZFakeRecordCreation(self, "initCreatingStorageAtURL:hardwareModel:options:error:",
                         [NSArray arrayWithObjects:URL, VZ_ARG(hardwareModel),
                                                   [NSNumber numberWithUnsignedInteger:options], nil]);
    return self;
}
FAKE_READONLY(NSURL *, URL, @"URL")
@end

// Declared by the SDK in a category of its own (deprecated since macOS 13 for -initWithURL:).
@implementation VZMacAuxiliaryStorage (VZDeprecated)
- (instancetype)initWithContentsOfURL:(NSURL *)URL
{
    self = [super init];
    VZFakeSet(self, @"URL", URL);
    VZFakeRecordCreation(self, "initWithContentsOfURL:", [NSArray arrayWithObject:URL]);
    return self;
}
@end

@implementation VZMacPlatformConfiguration
- (instancetype)init
{
    self = [super init];
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
FAKE_COPY(VZMacHardwareModel *, hardwareModel, setHardwareModel, @"hardwareModel")
FAKE_COPY(VZMacMachineIdentifier *, machineIdentifier, setMachineIdentifier, @"machineIdentifier")
FAKE_STRONG(VZMacAuxiliaryStorage *, auxiliaryStorage, setAuxiliaryStorage, @"auxiliaryStorage")
@end

// =================================================================================================
// Boot loaders
// =================================================================================================

@implementation VZBootLoader
FAKE_ROOT_METHODS
@end

@implementation VZLinuxBootLoader
- (instancetype)initWithKernelURL:(NSURL *)kernelURL
{
    self = [super init];
    VZFakeSet(self, @"kernelURL", kernelURL);
    VZFakeSet(self, @"commandLine", @"");
    VZFakeRecordCreation(self, "initWithKernelURL:", [NSArray arrayWithObject:kernelURL]);
    return self;
}
FAKE_COPY(NSURL *, kernelURL, setKernelURL, @"kernelURL")
FAKE_COPY(NSString *, commandLine, setCommandLine, @"commandLine")
FAKE_COPY(NSURL *, initialRamdiskURL, setInitialRamdiskURL, @"initialRamdiskURL")
@end

@implementation VZEFIVariableStore
FAKE_ROOT_METHODS
- (instancetype)initWithURL:(NSURL *)URL
{
    self = [super init];
    VZFakeSet(self, @"URL", URL);
    VZFakeRecordCreation(self, "initWithURL:", [NSArray arrayWithObject:URL]);
    return self;
}
- (instancetype)initCreatingVariableStoreAtURL:(NSURL *)URL
                                       options:(VZEFIVariableStoreInitializationOptions)options
                                         error:(NSError **)error
{
    self = [super init];
    if (file_exists(URL) && !(options & VZEFIVariableStoreInitializationOptionAllowOverwrite)) {
        set_error(error, VZFakeError(VZErrorInternal, @"The EFI variable store file already exists."));
        [self release];
        return nil;
    }
    VZFakeSet(self, @"URL", URL);
    VZFakeRecordCreation(self, "initCreatingVariableStoreAtURL:options:error:",
                         [NSArray arrayWithObjects:URL, [NSNumber numberWithUnsignedInteger:options], nil]);
    return self;
}
FAKE_READONLY(NSURL *, URL, @"URL")
@end

@implementation VZEFIBootLoader
- (instancetype)init
{
    self = [super init];
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
FAKE_STRONG(VZEFIVariableStore *, variableStore, setVariableStore, @"variableStore")
@end

@implementation VZMacOSBootLoader
- (instancetype)init
{
    self = [super init];
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
@end

// =================================================================================================
// Storage
// =================================================================================================

@implementation VZStorageDeviceAttachment
FAKE_ROOT_METHODS
@end

@implementation VZDiskImageStorageDeviceAttachment
- (instancetype)initWithURL:(NSURL *)url readOnly:(BOOL)readOnly error:(NSError **)error
{
    return [self initWithURL:url
                    readOnly:readOnly
                 cachingMode:VZDiskImageCachingModeAutomatic
         synchronizationMode:VZDiskImageSynchronizationModeFull
                       error:error];
}
- (instancetype)initWithURL:(NSURL *)url
                   readOnly:(BOOL)readOnly
                cachingMode:(VZDiskImageCachingMode)cachingMode
        synchronizationMode:(VZDiskImageSynchronizationMode)synchronizationMode
                      error:(NSError **)error
{
    self = [super init];
    if (!file_exists(url)) {
        set_error(error, file_error(url, @"The disk image"));
        [self release];
        return nil;
    }
    VZFakeSet(self, @"URL", url);
    VZFakeSet(self, @"readOnly", [NSNumber numberWithBool:readOnly]);
    VZFakeSet(self, @"cachingMode", [NSNumber numberWithInteger:cachingMode]);
    VZFakeSet(self, @"synchronizationMode", [NSNumber numberWithInteger:synchronizationMode]);
    VZFakeRecordCreation(self, "initWithURL:readOnly:cachingMode:synchronizationMode:error:",
                         [NSArray arrayWithObjects:url, [NSNumber numberWithBool:readOnly],
                                                   [NSNumber numberWithInteger:cachingMode],
                                                   [NSNumber numberWithInteger:synchronizationMode], nil]);
    return self;
}
FAKE_READONLY(NSURL *, URL, @"URL")
FAKE_BOOL_READONLY(isReadOnly, @"readOnly")
FAKE_INTEGER_READONLY(VZDiskImageCachingMode, cachingMode, @"cachingMode")
FAKE_INTEGER_READONLY(VZDiskImageSynchronizationMode, synchronizationMode, @"synchronizationMode")
@end

@implementation VZStorageDeviceConfiguration
FAKE_ROOT_METHODS
FAKE_READONLY(VZStorageDeviceAttachment *, attachment, @"attachment")
@end

static BOOL valid_block_identifier(NSString *identifier)
{
    NSData *ascii = [identifier dataUsingEncoding:NSASCIIStringEncoding allowLossyConversion:NO];
    return ascii != nil && [ascii length] <= 20;
}

@implementation VZVirtioBlockDeviceConfiguration
- (instancetype)initWithAttachment:(VZStorageDeviceAttachment *)attachment
{
    self = [super init];
    VZFakeSet(self, @"attachment", attachment);
    VZFakeRecordCreation(self, "initWithAttachment:", [NSArray arrayWithObject:VZ_ARG(attachment)]);
    return self;
}
+ (BOOL)validateBlockDeviceIdentifier:(NSString *)blockDeviceIdentifier error:(NSError **)error
{
    if (valid_block_identifier(blockDeviceIdentifier))
        return YES;
    set_error(error, VZFakeError(VZErrorInvalidVirtualMachineConfiguration, @"Invalid block device identifier."));
    return NO;
}
FAKE_COPY(NSString *, blockDeviceIdentifier, setBlockDeviceIdentifier, @"blockDeviceIdentifier")
@end

@implementation VZUSBMassStorageDeviceConfiguration
- (instancetype)initWithAttachment:(VZStorageDeviceAttachment *)attachment
{
    self = [super init];
    VZFakeSet(self, @"attachment", attachment);
    VZFakeRecordCreation(self, "initWithAttachment:", [NSArray arrayWithObject:VZ_ARG(attachment)]);
    return self;
}
FAKE_COPY(NSUUID *, uuid, setUuid, @"uuid")
@end

@implementation VZNVMExpressControllerDeviceConfiguration
- (instancetype)initWithAttachment:(VZStorageDeviceAttachment *)attachment
{
    self = [super init];
    VZFakeSet(self, @"attachment", attachment);
    VZFakeRecordCreation(self, "initWithAttachment:", [NSArray arrayWithObject:VZ_ARG(attachment)]);
    return self;
}
@end

// =================================================================================================
// Network
// =================================================================================================

@implementation VZMACAddress
FAKE_ROOT_METHODS
- (instancetype)initWithEthernetAddress:(ether_addr_t)ethernetAddress
{
    self = [super init];
    const unsigned char *b = (const unsigned char *)&ethernetAddress;
    VZFakeSet(self, @"ethernetAddress", [NSData dataWithBytes:b length:6]);
    VZFakeSet(self, @"string", [NSString stringWithFormat:@"%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]]);
    VZFakeRecordCreation(self, "initWithEthernetAddress:", nil);
    return self;
}
- (instancetype)initWithString:(NSString *)string
{
    unsigned int v[6];
    char tail;
    const char *text = [string UTF8String];
    if ([string length] != 17 ||
        sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6) {
        [self release];
        return nil;
    }
    for (int i = 2; i < 17; i += 3)
        if (text[i] != ':') {
            [self release];
            return nil;
        }
    ether_addr_t address;
    unsigned char *b = (unsigned char *)&address;
    for (int i = 0; i < 6; ++i)
        b[i] = (unsigned char)v[i];
    self = [self initWithEthernetAddress:address];
    VZFakeSet(self, @"@initializer", @"initWithString:");
    return self;
}
+ (instancetype)randomLocallyAdministeredAddress
{
    ether_addr_t address;
    unsigned char *b = (unsigned char *)&address;
    for (int i = 0; i < 6; ++i)
        b[i] = (unsigned char)random();
    b[0] = (unsigned char)((b[0] & 0xfe) | 0x02);
    return [[[self alloc] initWithEthernetAddress:address] autorelease];
}
- (ether_addr_t)ethernetAddress
{
    ether_addr_t address;
    memcpy(&address, [VZFakeGet(self, @"ethernetAddress") bytes], 6);
    return address;
}
FAKE_READONLY(NSString *, string, @"string")
- (const unsigned char *)octets
{
    return (const unsigned char *)[VZFakeGet(self, @"ethernetAddress") bytes];
}
- (BOOL)isBroadcastAddress
{
    const unsigned char *b = [self octets];
    for (int i = 0; i < 6; ++i)
        if (b[i] != 0xff)
            return NO;
    return YES;
}
- (BOOL)isMulticastAddress { return ([self octets][0] & 1) != 0; }
- (BOOL)isUnicastAddress { return ([self octets][0] & 1) == 0; }
- (BOOL)isLocallyAdministeredAddress { return ([self octets][0] & 2) != 0; }
- (BOOL)isUniversallyAdministeredAddress { return ([self octets][0] & 2) == 0; }
@end

@implementation VZNetworkDeviceAttachment
FAKE_ROOT_METHODS
@end

@implementation VZNATNetworkDeviceAttachment
- (instancetype)init
{
    self = [super init];
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
@end

@implementation VZFileHandleNetworkDeviceAttachment
- (instancetype)initWithFileHandle:(NSFileHandle *)fileHandle
{
    self = [super init];
    VZFakeSet(self, @"fileHandle", fileHandle);
    VZFakeSet(self, @"maximumTransmissionUnit", [NSNumber numberWithInteger:1500]);
    VZFakeRecordCreation(self, "initWithFileHandle:", [NSArray arrayWithObject:VZ_ARG(fileHandle)]);
    return self;
}
FAKE_READONLY(NSFileHandle *, fileHandle, @"fileHandle")
FAKE_INTEGER(NSInteger, maximumTransmissionUnit, setMaximumTransmissionUnit, @"maximumTransmissionUnit")
@end

@implementation VZNetworkDeviceConfiguration
FAKE_ROOT_METHODS
FAKE_COPY(VZMACAddress *, MACAddress, setMACAddress, @"MACAddress")
FAKE_STRONG(VZNetworkDeviceAttachment *, attachment, setAttachment, @"attachment")
@end

@implementation VZVirtioNetworkDeviceConfiguration
- (instancetype)init
{
    self = [super init];
    // The default address is random and locally administered, as documented.
    VZFakeSet(self, @"MACAddress", [VZMACAddress randomLocallyAdministeredAddress]);
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
@end

// =================================================================================================
// Serial ports and consoles
// =================================================================================================

@implementation VZSerialPortAttachment
FAKE_ROOT_METHODS
@end

@implementation VZFileHandleSerialPortAttachment
- (instancetype)initWithFileHandleForReading:(NSFileHandle *)fileHandleForReading
                        fileHandleForWriting:(NSFileHandle *)fileHandleForWriting
{
    self = [super init];
    VZFakeSet(self, @"fileHandleForReading", fileHandleForReading);
    VZFakeSet(self, @"fileHandleForWriting", fileHandleForWriting);
    VZFakeRecordCreation(self, "initWithFileHandleForReading:fileHandleForWriting:",
                         [NSArray arrayWithObjects:VZ_ARG(fileHandleForReading), VZ_ARG(fileHandleForWriting), nil]);
    return self;
}
FAKE_READONLY(NSFileHandle *, fileHandleForReading, @"fileHandleForReading")
FAKE_READONLY(NSFileHandle *, fileHandleForWriting, @"fileHandleForWriting")
@end

@implementation VZFileSerialPortAttachment
- (instancetype)initWithURL:(NSURL *)url append:(BOOL)shouldAppend error:(NSError **)error
{
    self = [super init];
    NSURL *folder = [url URLByDeletingLastPathComponent];
    BOOL isDirectory = NO;
    if (![[NSFileManager defaultManager] fileExistsAtPath:[folder path] isDirectory:&isDirectory] || !isDirectory) {
        set_error(error, file_error(folder, @"The folder of the serial port file"));
        [self release];
        return nil;
    }
    VZFakeSet(self, @"URL", url);
    VZFakeSet(self, @"append", [NSNumber numberWithBool:shouldAppend]);
    VZFakeRecordCreation(self, "initWithURL:append:error:",
                         [NSArray arrayWithObjects:url, [NSNumber numberWithBool:shouldAppend], nil]);
    return self;
}
FAKE_READONLY(NSURL *, URL, @"URL")
FAKE_BOOL_READONLY(append, @"append")
@end

@implementation VZSpiceAgentPortAttachment
- (instancetype)init
{
    self = [super init];
    VZFakeSet(self, @"sharesClipboard", [NSNumber numberWithBool:YES]);
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
FAKE_BOOL(sharesClipboard, setSharesClipboard, @"sharesClipboard")
+ (NSString *)spiceAgentPortName
{
    return @"com.redhat.spice.0";  // UNCONFIRMED: the usual SPICE agent port name
}
@end

@implementation VZSerialPortConfiguration
FAKE_ROOT_METHODS
FAKE_STRONG(VZSerialPortAttachment *, attachment, setAttachment, @"attachment")
@end

@implementation VZVirtioConsoleDeviceSerialPortConfiguration
- (instancetype)init
{
    self = [super init];
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
@end

@implementation VZConsolePortConfiguration
FAKE_ROOT_METHODS
FAKE_STRONG(VZSerialPortAttachment *, attachment, setAttachment, @"attachment")
@end

@implementation VZVirtioConsolePortConfiguration
- (instancetype)init
{
    self = [super init];
    VZFakeSet(self, @"isConsole", [NSNumber numberWithBool:NO]);
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
FAKE_COPY(NSString *, name, setName, @"name")
FAKE_BOOL(isConsole, setIsConsole, @"isConsole")
@end

@implementation VZVirtioConsolePortConfigurationArray
FAKE_ROOT_METHODS
- (uint32_t)maximumPortCount
{
    NSNumber *set = VZFakeGet(self, @"@maximumPortCount");
    if (set)
        return (uint32_t)[set unsignedIntValue];
    return (uint32_t)[(NSDictionary *)VZFakeGet(self, @"ports") count];
}
- (void)setMaximumPortCount:(uint32_t)maximumPortCount
{
    VZFakeSet(self, @"@maximumPortCount", [NSNumber numberWithUnsignedInt:maximumPortCount]);
}
- (VZVirtioConsolePortConfiguration *)objectAtIndexedSubscript:(NSUInteger)portIndex
{
    return [(NSDictionary *)VZFakeGet(self, @"ports") objectForKey:[NSNumber numberWithUnsignedInteger:portIndex]];
}
- (void)setObject:(VZVirtioConsolePortConfiguration *)configuration atIndexedSubscript:(NSUInteger)portIndex
{
    NSMutableDictionary *ports = [[(NSDictionary *)VZFakeGet(self, @"ports") mutableCopy] autorelease];
    if (!ports)
        ports = [NSMutableDictionary dictionary];
    NSNumber *key = [NSNumber numberWithUnsignedInteger:portIndex];
    if (configuration)
        [ports setObject:configuration forKey:key];
    else
        [ports removeObjectForKey:key];
    VZFakeSet(self, @"ports", ports);
}
@end

@implementation VZConsoleDeviceConfiguration
FAKE_ROOT_METHODS
@end

@implementation VZVirtioConsoleDeviceConfiguration
- (instancetype)init
{
    self = [super init];
    VZVirtioConsolePortConfigurationArray *ports = [[VZVirtioConsolePortConfigurationArray alloc] init];
    VZFakeSet(ports, @"ports", [NSDictionary dictionary]);
    VZFakeSet(self, @"ports", ports);
    [ports release];
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
FAKE_READONLY(VZVirtioConsolePortConfigurationArray *, ports, @"ports")
@end

// =================================================================================================
// Entropy, memory balloon, socket
// =================================================================================================

@implementation VZEntropyDeviceConfiguration
FAKE_ROOT_METHODS
@end

@implementation VZVirtioEntropyDeviceConfiguration
- (instancetype)init
{
    self = [super init];
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
@end

@implementation VZMemoryBalloonDeviceConfiguration
FAKE_ROOT_METHODS
@end

@implementation VZVirtioTraditionalMemoryBalloonDeviceConfiguration
- (instancetype)init
{
    self = [super init];
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
@end

@implementation VZSocketDeviceConfiguration
FAKE_ROOT_METHODS
@end

@implementation VZVirtioSocketDeviceConfiguration
- (instancetype)init
{
    self = [super init];
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
@end

// =================================================================================================
// Directory sharing and Rosetta
// =================================================================================================

@implementation VZSharedDirectory
FAKE_ROOT_METHODS
- (instancetype)initWithURL:(NSURL *)url readOnly:(BOOL)readOnly
{
    self = [super init];
    VZFakeSet(self, @"URL", url);
    VZFakeSet(self, @"readOnly", [NSNumber numberWithBool:readOnly]);
    VZFakeRecordCreation(self, "initWithURL:readOnly:", [NSArray arrayWithObjects:url, [NSNumber numberWithBool:readOnly], nil]);
    return self;
}
FAKE_READONLY(NSURL *, URL, @"URL")
FAKE_BOOL_READONLY(isReadOnly, @"readOnly")
@end

@implementation VZDirectoryShare
FAKE_ROOT_METHODS
@end

@implementation VZSingleDirectoryShare
- (instancetype)initWithDirectory:(VZSharedDirectory *)directory
{
    self = [super init];
    VZFakeSet(self, @"directory", directory);
    VZFakeRecordCreation(self, "initWithDirectory:", [NSArray arrayWithObject:VZ_ARG(directory)]);
    return self;
}
FAKE_READONLY(VZSharedDirectory *, directory, @"directory")
@end

static BOOL valid_share_name(NSString *name)
{
    // UNCONFIRMED: the exact set of characters VZ finds unsafe; '/' and NUL at least.
    return [name length] > 0 && [[name dataUsingEncoding:NSUTF8StringEncoding] length] <= 255 &&
           [name rangeOfString:@"/"].location == NSNotFound && [name rangeOfString:@"\0"].location == NSNotFound;
}

@implementation VZMultipleDirectoryShare
- (instancetype)init
{
    return [self initWithDirectories:[NSDictionary dictionary]];
}
- (instancetype)initWithDirectories:(NSDictionary<NSString *, VZSharedDirectory *> *)directories
{
    self = [super init];
    for (NSString *name in directories)
        if (!valid_share_name(name))
            [NSException raise:NSInvalidArgumentException format:@"Invalid directory name '%@'.", name];
    VZFakeSet(self, @"directories", [[directories copy] autorelease]);
    VZFakeRecordCreation(self, "initWithDirectories:", [NSArray arrayWithObject:directories]);
    return self;
}
+ (BOOL)validateName:(NSString *)name error:(NSError **)error
{
    if (valid_share_name(name))
        return YES;
    set_error(error, VZFakeError(VZErrorInvalidVirtualMachineConfiguration, @"Invalid directory name."));
    return NO;
}
+ (NSString *)canonicalizedNameFromName:(NSString *)name
{
    NSString *canonical = [name stringByReplacingOccurrencesOfString:@"/" withString:@"_"];
    return valid_share_name(canonical) ? canonical : nil;
}
FAKE_READONLY(NSDictionary *, directories, @"directories")
@end

@implementation VZLinuxRosettaCachingOptions
FAKE_ROOT_METHODS
@end

@implementation VZLinuxRosettaUnixSocketCachingOptions
- (instancetype)initWithPath:(NSString *)path error:(NSError **)error
{
    self = [super init];
    if ([[path dataUsingEncoding:NSUTF8StringEncoding] length] > [[self class] maximumPathLength]) {
        set_error(error, VZFakeError(VZErrorInvalidVirtualMachineConfiguration, @"The Rosetta caching socket path is too long."));
        [self release];
        return nil;
    }
    VZFakeSet(self, @"path", path);
    VZFakeRecordCreation(self, "initWithPath:error:", [NSArray arrayWithObject:path]);
    return self;
}
- (instancetype)init
{
    self = [self initWithPath:@"/run/rosettad/rosetta.sock" error:NULL];
    VZFakeSet(self, @"@initializer", @"init");
    return self;
}
FAKE_READONLY(NSString *, path, @"path")
+ (NSUInteger)maximumPathLength
{
    return 107;  // UNCONFIRMED: Linux sun_path is 108 bytes with its NUL
}
@end

@implementation VZLinuxRosettaAbstractSocketCachingOptions
- (instancetype)initWithName:(NSString *)name error:(NSError **)error
{
    self = [super init];
    if ([[name dataUsingEncoding:NSUTF8StringEncoding] length] > [[self class] maximumNameLength]) {
        set_error(error, VZFakeError(VZErrorInvalidVirtualMachineConfiguration, @"The Rosetta caching socket name is too long."));
        [self release];
        return nil;
    }
    VZFakeSet(self, @"name", name);
    VZFakeRecordCreation(self, "initWithName:error:", [NSArray arrayWithObject:name]);
    return self;
}
FAKE_READONLY(NSString *, name, @"name")
+ (NSUInteger)maximumNameLength
{
    return 107;  // UNCONFIRMED
}
@end

@implementation VZLinuxRosettaDirectoryShare
- (instancetype)initWithError:(NSError **)error
{
    self = [super init];
    if (VZFakeHostSettings()->rosettaAvailability != VZLinuxRosettaAvailabilityInstalled) {
        // The code is the one Apple's sample catches (VZErrorInvalidVirtualMachineConfiguration);
        // the text is UNCONFIRMED.
        set_error(error, VZFakeError(VZErrorInvalidVirtualMachineConfiguration, @"Rosetta is not installed on this host."));
        [self release];
        return nil;
    }
    VZFakeRecordCreation(self, "initWithError:", nil);
    return self;
}
+ (void)installRosettaWithCompletionHandler:(void (^)(NSError *error))completionHandler
{
    VZFakeHostSettings()->rosettaAvailability = VZLinuxRosettaAvailabilityInstalled;
    completionHandler(nil);
}
+ (VZLinuxRosettaAvailability)availability
{
    return (VZLinuxRosettaAvailability)VZFakeHostSettings()->rosettaAvailability;
}
FAKE_STRONG(VZLinuxRosettaCachingOptions *, options, setOptions, @"options")
@end

@implementation VZDirectorySharingDeviceConfiguration
FAKE_ROOT_METHODS
@end

static BOOL valid_tag(NSString *tag)
{
    NSUInteger bytes = [[tag dataUsingEncoding:NSUTF8StringEncoding] length];
    return bytes > 0 && bytes < 36;
}

@implementation VZVirtioFileSystemDeviceConfiguration
- (instancetype)initWithTag:(NSString *)tag
{
    self = [super init];
    VZFakeSet(self, @"tag", tag);
    VZFakeRecordCreation(self, "initWithTag:", [NSArray arrayWithObject:tag]);
    return self;
}
+ (BOOL)validateTag:(NSString *)tag error:(NSError **)error
{
    if (valid_tag(tag))
        return YES;
    set_error(error, VZFakeError(VZErrorInvalidVirtualMachineConfiguration, @"Invalid file system tag."));
    return NO;
}
FAKE_COPY(NSString *, tag, setTag, @"tag")
FAKE_STRONG(VZDirectoryShare *, share, setShare, @"share")
+ (NSString *)macOSGuestAutomountTag
{
    return @"com.apple.virtio-fs.automount";  // as documented by third parties; UNCONFIRMED
}
@end

// =================================================================================================
// Graphics
// =================================================================================================

@implementation VZGraphicsDeviceConfiguration
FAKE_ROOT_METHODS
@end

@implementation VZGraphicsDisplayConfiguration
FAKE_ROOT_METHODS
@end

@implementation VZVirtioGraphicsScanoutConfiguration
- (instancetype)initWithWidthInPixels:(NSInteger)widthInPixels heightInPixels:(NSInteger)heightInPixels
{
    self = [super init];
    [self setWidthInPixels:widthInPixels];
    [self setHeightInPixels:heightInPixels];
    VZFakeRecordCreation(self, "initWithWidthInPixels:heightInPixels:",
                         [NSArray arrayWithObjects:[NSNumber numberWithInteger:widthInPixels],
                                                   [NSNumber numberWithInteger:heightInPixels], nil]);
    return self;
}
FAKE_INTEGER(NSInteger, widthInPixels, setWidthInPixels, @"widthInPixels")
FAKE_INTEGER(NSInteger, heightInPixels, setHeightInPixels, @"heightInPixels")
@end

@implementation VZVirtioGraphicsDeviceConfiguration
- (instancetype)init
{
    self = [super init];
    VZFakeSet(self, @"scanouts", [NSArray array]);
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
FAKE_COPY(NSArray *, scanouts, setScanouts, @"scanouts")
@end

@implementation VZMacGraphicsDisplayConfiguration
- (instancetype)initWithWidthInPixels:(NSInteger)widthInPixels
                       heightInPixels:(NSInteger)heightInPixels
                        pixelsPerInch:(NSInteger)pixelsPerInch
{
    self = [super init];
    [self setWidthInPixels:widthInPixels];
    [self setHeightInPixels:heightInPixels];
    [self setPixelsPerInch:pixelsPerInch];
    VZFakeRecordCreation(self, "initWithWidthInPixels:heightInPixels:pixelsPerInch:",
                         [NSArray arrayWithObjects:[NSNumber numberWithInteger:widthInPixels],
                                                   [NSNumber numberWithInteger:heightInPixels],
                                                   [NSNumber numberWithInteger:pixelsPerInch], nil]);
    return self;
}
FAKE_INTEGER(NSInteger, widthInPixels, setWidthInPixels, @"widthInPixels")
FAKE_INTEGER(NSInteger, heightInPixels, setHeightInPixels, @"heightInPixels")
FAKE_INTEGER(NSInteger, pixelsPerInch, setPixelsPerInch, @"pixelsPerInch")
@end

@implementation VZMacGraphicsDeviceConfiguration
- (instancetype)init
{
    self = [super init];
    VZFakeSet(self, @"displays", [NSArray array]);
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
FAKE_COPY(NSArray *, displays, setDisplays, @"displays")
@end

// =================================================================================================
// Keyboards, pointing devices, audio, USB
// =================================================================================================

#define FAKE_PLAIN_CLASS(name)                                                                     \
    @implementation name                                                                           \
    -(instancetype)init                                                                            \
    {                                                                                              \
        self = [super init];                                                                       \
        VZFakeRecordCreation(self, "init", nil);                                                   \
        return self;                                                                               \
    }                                                                                              \
    @end

@implementation VZKeyboardConfiguration
FAKE_ROOT_METHODS
@end
FAKE_PLAIN_CLASS(VZUSBKeyboardConfiguration)
FAKE_PLAIN_CLASS(VZMacKeyboardConfiguration)

@implementation VZPointingDeviceConfiguration
FAKE_ROOT_METHODS
@end
FAKE_PLAIN_CLASS(VZUSBScreenCoordinatePointingDeviceConfiguration)
FAKE_PLAIN_CLASS(VZMacTrackpadConfiguration)

@implementation VZAudioInputStreamSource
FAKE_ROOT_METHODS
@end
FAKE_PLAIN_CLASS(VZHostAudioInputStreamSource)

@implementation VZAudioOutputStreamSink
FAKE_ROOT_METHODS
@end
FAKE_PLAIN_CLASS(VZHostAudioOutputStreamSink)

@implementation VZVirtioSoundDeviceStreamConfiguration
FAKE_ROOT_METHODS
@end

@implementation VZVirtioSoundDeviceInputStreamConfiguration
- (instancetype)init
{
    self = [super init];
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
FAKE_STRONG(VZAudioInputStreamSource *, source, setSource, @"source")
@end

@implementation VZVirtioSoundDeviceOutputStreamConfiguration
- (instancetype)init
{
    self = [super init];
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
FAKE_STRONG(VZAudioOutputStreamSink *, sink, setSink, @"sink")
@end

@implementation VZAudioDeviceConfiguration
FAKE_ROOT_METHODS
@end

@implementation VZVirtioSoundDeviceConfiguration
- (instancetype)init
{
    self = [super init];
    VZFakeSet(self, @"streams", [NSArray array]);
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
FAKE_COPY(NSArray *, streams, setStreams, @"streams")
@end

@implementation VZUSBControllerConfiguration
FAKE_ROOT_METHODS
FAKE_COPY(NSArray *, usbDevices, setUsbDevices, @"usbDevices")
@end

@implementation VZXHCIControllerConfiguration
- (instancetype)init
{
    self = [super init];
    VZFakeSet(self, @"usbDevices", [NSArray array]);
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
@end

// =================================================================================================
// Virtual machine configuration
// =================================================================================================

@implementation VZVirtualMachineConfiguration
FAKE_ROOT_METHODS
- (instancetype)init
{
    self = [super init];
    // UNCONFIRMED: the framework's defaults for CPU count and memory size; the fake uses the minimums.
    [self setCPUCount:[[self class] minimumAllowedCPUCount]];
    [self setMemorySize:[[self class] minimumAllowedMemorySize]];
    VZGenericPlatformConfiguration *platform = [[VZGenericPlatformConfiguration alloc] init];
    [self setPlatform:platform];
    [platform release];
    NSArray *empty = [NSArray array];
    for (NSString *key in [NSArray arrayWithObjects:@"audioDevices", @"consoleDevices", @"directorySharingDevices",
                                                    @"entropyDevices", @"memoryBalloonDevices", @"networkDevices",
                                                    @"serialPorts", @"socketDevices", @"storageDevices", @"keyboards",
                                                    @"pointingDevices", @"graphicsDevices", @"usbControllers", nil])
        VZFakeSet(self, key, empty);
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
FAKE_STRONG(VZBootLoader *, bootLoader, setBootLoader, @"bootLoader")
FAKE_UNSIGNED(uint64_t, memorySize, setMemorySize, @"memorySize")
FAKE_UNSIGNED(NSUInteger, CPUCount, setCPUCount, @"CPUCount")
FAKE_STRONG(VZPlatformConfiguration *, platform, setPlatform, @"platform")
FAKE_COPY(NSArray *, audioDevices, setAudioDevices, @"audioDevices")
FAKE_COPY(NSArray *, consoleDevices, setConsoleDevices, @"consoleDevices")
FAKE_COPY(NSArray *, directorySharingDevices, setDirectorySharingDevices, @"directorySharingDevices")
FAKE_COPY(NSArray *, entropyDevices, setEntropyDevices, @"entropyDevices")
FAKE_COPY(NSArray *, memoryBalloonDevices, setMemoryBalloonDevices, @"memoryBalloonDevices")
FAKE_COPY(NSArray *, networkDevices, setNetworkDevices, @"networkDevices")
FAKE_COPY(NSArray *, serialPorts, setSerialPorts, @"serialPorts")
FAKE_COPY(NSArray *, socketDevices, setSocketDevices, @"socketDevices")
FAKE_COPY(NSArray *, storageDevices, setStorageDevices, @"storageDevices")
FAKE_COPY(NSArray *, keyboards, setKeyboards, @"keyboards")
FAKE_COPY(NSArray *, pointingDevices, setPointingDevices, @"pointingDevices")
FAKE_COPY(NSArray *, graphicsDevices, setGraphicsDevices, @"graphicsDevices")
FAKE_COPY(NSArray *, usbControllers, setUsbControllers, @"usbControllers")
@end
