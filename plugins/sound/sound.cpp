// sound: a Virtio sound card connected to the host's speakers and, if asked, its microphone.
#include <vzkit/plugin.hpp>

namespace {

namespace sdk = vzkit::sdk;

constexpr const char* kManifest = R"json({
  "name": "sound",
  "version": "1.0.0",
  "summary": "Virtio sound card playing through the host's speakers, optionally recording its microphone",
  "engines": ["vz"],
  "engine_notes": {
    "qemu": "QEMU 7.2 has no Virtio sound device, and vzkit's QEMU model cannot yet declare the -audiodev backend an emulated sound card (intel-hda) would need"
  },
  "vz": {"min_macos": "12.0", "classes": [
    "VZVirtioSoundDeviceConfiguration", "VZVirtioSoundDeviceOutputStreamConfiguration",
    "VZVirtioSoundDeviceInputStreamConfiguration", "VZHostAudioOutputStreamSink", "VZHostAudioInputStreamSource"]},
  "save_restore": false,
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Sound",
    "description": "A Virtio sound card (Linux driver virtio_snd). The guest always gets one output stream; with output false it plays into silence. An input stream exists only with input true.",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "output": {
        "title": "Play through the host",
        "description": "true: the guest's output plays on the host's default output device. false: the guest still has a sound card, but its output is discarded.",
        "type": "boolean",
        "default": true,
        "examples": [true, false]
      },
      "input": {
        "title": "Record from the host",
        "description": "true: the guest gets an input stream fed by the host's default input device (the microphone; macOS may ask the user for permission). false: no input stream.",
        "type": "boolean",
        "default": false,
        "examples": [false, true]
      }
    },
    "examples": [{}, {"output": true, "input": true}, {"output": false}]
  }
})json";

class Sound final : public sdk::Plugin {
 public:
  void assemble_vz(const sdk::Config& c, const sdk::Context&, vzkit::vz::Configuration& plan) const override {
    vzkit::vz::VirtioSoundDevice card;
    card.streams.push_back(vzkit::vz::VirtioSoundOutputStream{sdk::get_bool(c, "output", true)});
    if (sdk::get_bool(c, "input", false)) card.streams.push_back(vzkit::vz::VirtioSoundInputStream{true});
    plan.audio_devices.push_back(std::move(card));
  }
};

}  // namespace

VZKIT_PLUGIN(Sound, kManifest)
