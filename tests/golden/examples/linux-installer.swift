import Foundation
import Virtualization

// Virtual machine "example", exported by vzkit.
// Builds the same VZVirtualMachineConfiguration that vzkit uses; paths are those of the
// host that exported it.
func createVirtualMachineConfiguration() throws -> VZVirtualMachineConfiguration {
    let configuration = VZVirtualMachineConfiguration()
    configuration.cpuCount = 2
    configuration.memorySize = 4 * 1024 * 1024 * 1024

    // From plugin "efi-boot", spec path devices[0]
    let bootLoader = VZEFIBootLoader()
    bootLoader.variableStore = try VZEFIVariableStore(creatingVariableStoreAt: URL(fileURLWithPath: "$SRC/tests/data/efi-vars.fd"))
    configuration.bootLoader = bootLoader

    // From plugin "usb-storage", spec path devices[1]
    let diskImageAttachment0 = try VZDiskImageStorageDeviceAttachment(url: URL(fileURLWithPath: "$SRC/tests/data/installer.iso"), readOnly: true, cachingMode: .automatic, synchronizationMode: .full)
    let usbMassStorageDevice = VZUSBMassStorageDeviceConfiguration(attachment: diskImageAttachment0)
    // From plugin "virtio-blk", spec path devices[2]
    let diskImageAttachment1 = try VZDiskImageStorageDeviceAttachment(url: URL(fileURLWithPath: "$SRC/tests/data/disk.img"), readOnly: false, cachingMode: .automatic, synchronizationMode: .full)
    let blockDevice = VZVirtioBlockDeviceConfiguration(attachment: diskImageAttachment1)
    configuration.storageDevices = [usbMassStorageDevice, blockDevice]

    // From plugin "network", spec path devices[4]
    let networkDevice = VZVirtioNetworkDeviceConfiguration()
    networkDevice.attachment = VZNATNetworkDeviceAttachment()
    networkDevice.macAddress = VZMACAddress(string: "ae:63:0c:7b:a3:28")!
    configuration.networkDevices = [networkDevice]

    // From plugin "serial-console", spec path devices[8]
    let serialPort = VZVirtioConsoleDeviceSerialPortConfiguration()
    serialPort.attachment = VZFileHandleSerialPortAttachment(fileHandleForReading: FileHandle.standardInput, fileHandleForWriting: FileHandle.standardOutput)
    configuration.serialPorts = [serialPort]

    // From plugin "virtio-gpu", spec path devices[3]
    let graphicsDevice = VZVirtioGraphicsDeviceConfiguration()
    graphicsDevice.scanouts = [VZVirtioGraphicsScanoutConfiguration(widthInPixels: 1280, heightInPixels: 720)]
    configuration.graphicsDevices = [graphicsDevice]

    // From plugin "keyboard", spec path devices[5]
    let keyboard = VZUSBKeyboardConfiguration()
    configuration.keyboards = [keyboard]

    // From plugin "pointing", spec path devices[6]
    let pointingDevice = VZUSBScreenCoordinatePointingDeviceConfiguration()
    configuration.pointingDevices = [pointingDevice]

    // From plugin "entropy", spec path devices[7]
    let entropyDevice = VZVirtioEntropyDeviceConfiguration()
    configuration.entropyDevices = [entropyDevice]

    try configuration.validate()
    return configuration
}
