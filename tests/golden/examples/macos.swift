import Foundation
import Virtualization

// Virtual machine "example", exported by vzkit.
// Builds the same VZVirtualMachineConfiguration that vzkit uses; paths are those of the
// host that exported it.
func createVirtualMachineConfiguration() throws -> VZVirtualMachineConfiguration {
    let configuration = VZVirtualMachineConfiguration()
    configuration.cpuCount = 4
    configuration.memorySize = 8 * 1024 * 1024 * 1024

    // From plugin "mac-platform", spec path devices[0]
    let platform = VZMacPlatformConfiguration()
    guard let hardwareModel = VZMacHardwareModel(dataRepresentation: try Data(contentsOf: URL(fileURLWithPath: "$SRC/tests/data/hardware-model.bin"))) else {
        fatalError("Failed to create the hardware model.")
    }
    if !hardwareModel.isSupported {
        fatalError("The hardware model isn't supported on the current host.")
    }
    platform.hardwareModel = hardwareModel
    guard let machineIdentifier = VZMacMachineIdentifier(dataRepresentation: try Data(contentsOf: URL(fileURLWithPath: "$SRC/tests/data/machine-id.bin"))) else {
        fatalError("Failed to create the machine identifier.")
    }
    platform.machineIdentifier = machineIdentifier
    platform.auxiliaryStorage = VZMacAuxiliaryStorage(url: URL(fileURLWithPath: "$SRC/tests/data/aux.img"))
    configuration.platform = platform

    // From plugin "mac-platform", spec path devices[0]
    let bootLoader = VZMacOSBootLoader()
    configuration.bootLoader = bootLoader

    // From plugin "virtio-blk", spec path devices[1]
    let diskImageAttachment = try VZDiskImageStorageDeviceAttachment(url: URL(fileURLWithPath: "$SRC/tests/data/disk.img"), readOnly: false, cachingMode: .automatic, synchronizationMode: .full)
    let blockDevice = VZVirtioBlockDeviceConfiguration(attachment: diskImageAttachment)
    configuration.storageDevices = [blockDevice]

    // From plugin "network", spec path devices[3]
    let networkDevice = VZVirtioNetworkDeviceConfiguration()
    networkDevice.attachment = VZNATNetworkDeviceAttachment()
    networkDevice.macAddress = VZMACAddress(string: "8a:1d:ec:b6:94:2d")!
    configuration.networkDevices = [networkDevice]

    // From plugin "virtiofs", spec path devices[9]
    let fileSystemDevice = VZVirtioFileSystemDeviceConfiguration(tag: VZVirtioFileSystemDeviceConfiguration.macOSGuestAutomountTag)
    fileSystemDevice.share = VZSingleDirectoryShare(directory: VZSharedDirectory(url: URL(fileURLWithPath: "$SRC/tests/data/shared"), readOnly: true))
    configuration.directorySharingDevices = [fileSystemDevice]

    // From plugin "mac-graphics", spec path devices[2]
    let graphicsDevice = VZMacGraphicsDeviceConfiguration()
    graphicsDevice.displays = [VZMacGraphicsDisplayConfiguration(widthInPixels: 1920, heightInPixels: 1200, pixelsPerInch: 80)]
    configuration.graphicsDevices = [graphicsDevice]

    // From plugin "keyboard", spec path devices[4]
    let keyboard0 = VZUSBKeyboardConfiguration()
    // From plugin "keyboard", spec path devices[5]
    let keyboard1 = VZMacKeyboardConfiguration()
    configuration.keyboards = [keyboard0, keyboard1]

    // From plugin "pointing", spec path devices[6]
    let pointingDevice0 = VZUSBScreenCoordinatePointingDeviceConfiguration()
    // From plugin "trackpad", spec path devices[7]
    let pointingDevice1 = VZMacTrackpadConfiguration()
    configuration.pointingDevices = [pointingDevice0, pointingDevice1]

    // From plugin "sound", spec path devices[8]
    let soundDevice = VZVirtioSoundDeviceConfiguration()
    let outputStream = VZVirtioSoundDeviceOutputStreamConfiguration()
    outputStream.sink = VZHostAudioOutputStreamSink()
    let inputStream = VZVirtioSoundDeviceInputStreamConfiguration()
    inputStream.source = VZHostAudioInputStreamSource()
    soundDevice.streams = [outputStream, inputStream]
    configuration.audioDevices = [soundDevice]

    try configuration.validate()
    return configuration
}
