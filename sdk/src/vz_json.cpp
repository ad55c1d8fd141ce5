// The JSON mapping of the VZ object model (sdk/include/vzkit/vz/configuration.hpp): one key table
// per mirrored class and the generic reader and writer over them. Compiled once into the SDK
// library, so plugins and the kernel share one copy instead of instantiating it in every file.
#include <vzkit/vz/configuration.hpp>

#include <boost/json.hpp>

#include <initializer_list>
#include <limits>
#include <tuple>
#include <type_traits>

namespace vzkit::vz {

// =================================================================================================
// JSON: per-class key tables
// =================================================================================================

/// One JSON key of a mirrored struct. Required keys must be present when parsing; the others
/// keep the member's default when absent.
template <class S, class M>
struct JsonField {
    std::string_view key;
    M S::*member;
    bool required;
};

template <class S, class M>
constexpr JsonField<S, M> required_key(std::string_view key, M S::*member)
{
    return {key, member, true};
}

template <class S, class M>
constexpr JsonField<S, M> optional_key(std::string_view key, M S::*member)
{
    return {key, member, false};
}

/// JSON layout of a mirrored struct: `fields` (a tuple of JsonField, in output order), and
/// optionally `label` (name used in messages when the type has no class_name), `emit_class`
/// (false to not write "class") and `check(value)` (extra checks after parsing).
template <class T>
struct JsonSchema {};

template <>
struct JsonSchema<Origin> {
    static constexpr std::string_view label = "origin";
    static constexpr auto fields = std::tuple{
        required_key("plugin", &Origin::plugin),
        required_key("path", &Origin::path),
    };
};

template <>
struct JsonSchema<GenericPlatform> {
    static constexpr auto fields = std::tuple{
        optional_key("machine_identifier", &GenericPlatform::machine_identifier),
        optional_key("nested_virtualization_enabled", &GenericPlatform::nested_virtualization_enabled),
        optional_key("origin", &GenericPlatform::origin),
    };
};

template <>
struct JsonSchema<MacAuxiliaryStorage> {
    static constexpr auto fields = std::tuple{
        required_key("url", &MacAuxiliaryStorage::url),
        optional_key("create", &MacAuxiliaryStorage::create),
    };
};

template <>
struct JsonSchema<MacPlatform> {
    static constexpr auto fields = std::tuple{
        required_key("hardware_model", &MacPlatform::hardware_model),
        required_key("machine_identifier", &MacPlatform::machine_identifier),
        required_key("auxiliary_storage", &MacPlatform::auxiliary_storage),
        optional_key("origin", &MacPlatform::origin),
    };
};

template <>
struct JsonSchema<LinuxBootLoader> {
    static constexpr auto fields = std::tuple{
        required_key("kernel_url", &LinuxBootLoader::kernel_url),
        optional_key("initial_ramdisk_url", &LinuxBootLoader::initial_ramdisk_url),
        optional_key("command_line", &LinuxBootLoader::command_line),
        optional_key("origin", &LinuxBootLoader::origin),
    };
};

template <>
struct JsonSchema<EFIVariableStore> {
    static constexpr auto fields = std::tuple{
        required_key("url", &EFIVariableStore::url),
        optional_key("create", &EFIVariableStore::create),
    };
};

template <>
struct JsonSchema<EFIBootLoader> {
    static constexpr auto fields = std::tuple{
        optional_key("variable_store", &EFIBootLoader::variable_store),
        optional_key("origin", &EFIBootLoader::origin),
    };
};

template <>
struct JsonSchema<MacOSBootLoader> {
    static constexpr auto fields = std::tuple{optional_key("origin", &MacOSBootLoader::origin)};
};

template <>
struct JsonSchema<DiskImageAttachment> {
    static constexpr auto fields = std::tuple{
        required_key("url", &DiskImageAttachment::url),
        optional_key("read_only", &DiskImageAttachment::read_only),
        optional_key("caching_mode", &DiskImageAttachment::caching_mode),
        optional_key("synchronization_mode", &DiskImageAttachment::synchronization_mode),
    };
};

template <>
struct JsonSchema<VirtioBlockDevice> {
    static constexpr auto fields = std::tuple{
        required_key("attachment", &VirtioBlockDevice::attachment),
        optional_key("block_device_identifier", &VirtioBlockDevice::block_device_identifier),
        optional_key("origin", &VirtioBlockDevice::origin),
    };
};

template <>
struct JsonSchema<USBMassStorageDevice> {
    static constexpr auto fields = std::tuple{
        required_key("attachment", &USBMassStorageDevice::attachment),
        optional_key("origin", &USBMassStorageDevice::origin),
    };
};

template <>
struct JsonSchema<NVMExpressControllerDevice> {
    static constexpr auto fields = std::tuple{
        required_key("attachment", &NVMExpressControllerDevice::attachment),
        optional_key("origin", &NVMExpressControllerDevice::origin),
    };
};

template <>
struct JsonSchema<NATNetworkAttachment> {
    static constexpr auto fields = std::tuple{};
};

template <>
struct JsonSchema<FileHandleNetworkAttachment> {
    static constexpr auto fields = std::tuple{
        optional_key("maximum_transmission_unit", &FileHandleNetworkAttachment::maximum_transmission_unit),
    };
};

template <>
struct JsonSchema<VirtioNetworkDevice> {
    static constexpr auto fields = std::tuple{
        optional_key("mac_address", &VirtioNetworkDevice::mac_address),
        required_key("attachment", &VirtioNetworkDevice::attachment),
        optional_key("origin", &VirtioNetworkDevice::origin),
    };
};

template <>
struct JsonSchema<FileSerialPortAttachment> {
    static constexpr auto fields = std::tuple{
        required_key("url", &FileSerialPortAttachment::url),
        optional_key("append", &FileSerialPortAttachment::append),
    };
};

template <>
struct JsonSchema<FileHandleSerialPortAttachment> {
    static constexpr auto fields = std::tuple{
        required_key("reading", &FileHandleSerialPortAttachment::reading),
        required_key("writing", &FileHandleSerialPortAttachment::writing),
    };

    static void check(const FileHandleSerialPortAttachment& value)
    {
        if (value.reading != "stdin" && value.reading != "none")
            throw ParseError("reading", "unknown handle '" + value.reading + "'; expected one of stdin, none");
        if (value.writing != "stdout" && value.writing != "none")
            throw ParseError("writing", "unknown handle '" + value.writing + "'; expected one of stdout, none");
    }
};

template <>
struct JsonSchema<SpiceAgentPortAttachment> {
    static constexpr auto fields = std::tuple{
        optional_key("shares_clipboard", &SpiceAgentPortAttachment::shares_clipboard),
    };
};

template <>
struct JsonSchema<VirtioConsoleDeviceSerialPort> {
    static constexpr auto fields = std::tuple{
        optional_key("attachment", &VirtioConsoleDeviceSerialPort::attachment),
        optional_key("origin", &VirtioConsoleDeviceSerialPort::origin),
    };
};

template <>
struct JsonSchema<VirtioConsolePort> {
    static constexpr auto fields = std::tuple{
        required_key("index", &VirtioConsolePort::index),
        optional_key("name", &VirtioConsolePort::name),
        optional_key("use_spice_agent_port_name", &VirtioConsolePort::use_spice_agent_port_name),
        optional_key("is_console", &VirtioConsolePort::is_console),
        optional_key("attachment", &VirtioConsolePort::attachment),
    };
};

template <>
struct JsonSchema<VirtioConsoleDevice> {
    static constexpr auto fields = std::tuple{
        optional_key("ports", &VirtioConsoleDevice::ports),
        optional_key("origin", &VirtioConsoleDevice::origin),
    };
};

template <>
struct JsonSchema<VirtioEntropyDevice> {
    static constexpr auto fields = std::tuple{optional_key("origin", &VirtioEntropyDevice::origin)};
};

template <>
struct JsonSchema<VirtioTraditionalMemoryBalloonDevice> {
    static constexpr auto fields = std::tuple{optional_key("origin", &VirtioTraditionalMemoryBalloonDevice::origin)};
};

template <>
struct JsonSchema<VirtioSocketDevice> {
    static constexpr auto fields = std::tuple{optional_key("origin", &VirtioSocketDevice::origin)};
};

template <>
struct JsonSchema<SocketForward> {
    static constexpr bool emit_class = false;
    static constexpr std::string_view label = "socket forward";
    static constexpr auto fields = std::tuple{
        required_key("port", &SocketForward::port),
        required_key("socket_path", &SocketForward::socket_path),
        optional_key("origin", &SocketForward::origin),
    };
};

template <>
struct JsonSchema<SharedDirectory> {
    static constexpr auto fields = std::tuple{
        required_key("url", &SharedDirectory::url),
        optional_key("read_only", &SharedDirectory::read_only),
    };
};

template <>
struct JsonSchema<SingleDirectoryShare> {
    static constexpr auto fields = std::tuple{required_key("directory", &SingleDirectoryShare::directory)};
};

template <>
struct JsonSchema<MultipleDirectoryShare> {
    static constexpr auto fields = std::tuple{optional_key("directories", &MultipleDirectoryShare::directories)};
};

template <>
struct JsonSchema<LinuxRosettaUnixSocketCachingOptions> {
    static constexpr auto fields = std::tuple{required_key("path", &LinuxRosettaUnixSocketCachingOptions::path)};
};

template <>
struct JsonSchema<LinuxRosettaAbstractSocketCachingOptions> {
    static constexpr auto fields = std::tuple{required_key("name", &LinuxRosettaAbstractSocketCachingOptions::name)};
};

template <>
struct JsonSchema<LinuxRosettaDirectoryShare> {
    static constexpr auto fields = std::tuple{optional_key("caching", &LinuxRosettaDirectoryShare::caching)};
};

template <>
struct JsonSchema<VirtioFileSystemDevice> {
    static constexpr auto fields = std::tuple{
        required_key("tag", &VirtioFileSystemDevice::tag),
        optional_key("use_macos_guest_automount_tag", &VirtioFileSystemDevice::use_macos_guest_automount_tag),
        optional_key("share", &VirtioFileSystemDevice::share),
        optional_key("origin", &VirtioFileSystemDevice::origin),
    };
};

template <>
struct JsonSchema<VirtioGraphicsScanout> {
    static constexpr auto fields = std::tuple{
        required_key("width_in_pixels", &VirtioGraphicsScanout::width_in_pixels),
        required_key("height_in_pixels", &VirtioGraphicsScanout::height_in_pixels),
    };
};

template <>
struct JsonSchema<VirtioGraphicsDevice> {
    static constexpr auto fields = std::tuple{
        optional_key("scanouts", &VirtioGraphicsDevice::scanouts),
        optional_key("origin", &VirtioGraphicsDevice::origin),
    };
};

template <>
struct JsonSchema<MacGraphicsDisplay> {
    static constexpr auto fields = std::tuple{
        required_key("width_in_pixels", &MacGraphicsDisplay::width_in_pixels),
        required_key("height_in_pixels", &MacGraphicsDisplay::height_in_pixels),
        required_key("pixels_per_inch", &MacGraphicsDisplay::pixels_per_inch),
    };
};

template <>
struct JsonSchema<MacGraphicsDevice> {
    static constexpr auto fields = std::tuple{
        optional_key("displays", &MacGraphicsDevice::displays),
        optional_key("origin", &MacGraphicsDevice::origin),
    };
};

template <>
struct JsonSchema<USBKeyboard> {
    static constexpr auto fields = std::tuple{optional_key("origin", &USBKeyboard::origin)};
};

template <>
struct JsonSchema<MacKeyboard> {
    static constexpr auto fields = std::tuple{optional_key("origin", &MacKeyboard::origin)};
};

template <>
struct JsonSchema<USBScreenCoordinatePointingDevice> {
    static constexpr auto fields = std::tuple{optional_key("origin", &USBScreenCoordinatePointingDevice::origin)};
};

template <>
struct JsonSchema<MacTrackpad> {
    static constexpr auto fields = std::tuple{optional_key("origin", &MacTrackpad::origin)};
};

template <>
struct JsonSchema<VirtioSoundInputStream> {
    static constexpr auto fields = std::tuple{optional_key("host_source", &VirtioSoundInputStream::host_source)};
};

template <>
struct JsonSchema<VirtioSoundOutputStream> {
    static constexpr auto fields = std::tuple{optional_key("host_sink", &VirtioSoundOutputStream::host_sink)};
};

template <>
struct JsonSchema<VirtioSoundDevice> {
    static constexpr auto fields = std::tuple{
        optional_key("streams", &VirtioSoundDevice::streams),
        optional_key("origin", &VirtioSoundDevice::origin),
    };
};

template <>
struct JsonSchema<XHCIController> {
    static constexpr auto fields = std::tuple{
        optional_key("usb_devices", &XHCIController::usb_devices),
        optional_key("origin", &XHCIController::origin),
    };
};

template <>
struct JsonSchema<Configuration> {
    static constexpr bool emit_class = false;
    static constexpr auto fields = std::tuple{
        optional_key("cpu_count", &Configuration::cpu_count),
        optional_key("memory_size", &Configuration::memory_size),
        optional_key("platform", &Configuration::platform),
        optional_key("boot_loader", &Configuration::boot_loader),
        optional_key("storage_devices", &Configuration::storage_devices),
        optional_key("network_devices", &Configuration::network_devices),
        optional_key("serial_ports", &Configuration::serial_ports),
        optional_key("entropy_devices", &Configuration::entropy_devices),
        optional_key("memory_balloon_devices", &Configuration::memory_balloon_devices),
        optional_key("socket_devices", &Configuration::socket_devices),
        optional_key("directory_sharing_devices", &Configuration::directory_sharing_devices),
        optional_key("graphics_devices", &Configuration::graphics_devices),
        optional_key("keyboards", &Configuration::keyboards),
        optional_key("pointing_devices", &Configuration::pointing_devices),
        optional_key("audio_devices", &Configuration::audio_devices),
        optional_key("console_devices", &Configuration::console_devices),
        optional_key("usb_controllers", &Configuration::usb_controllers),
        optional_key("socket_forwards", &Configuration::socket_forwards),
    };
};

/// A struct with a JSON layout in JsonSchema.
template <class T>
concept JsonMirrored = requires { JsonSchema<T>::fields; };

// =================================================================================================
// JSON: Boost.JSON conversions (found by ADL from boost::json::value_from / value_to)
// =================================================================================================

template <JsonMirrored T>
void tag_invoke(const boost::json::value_from_tag&, boost::json::value& jv, const T& value);
template <JsonMirrored T>
T tag_invoke(const boost::json::value_to_tag<T>&, const boost::json::value& jv);

// Variants are written by Boost.JSON's own std::variant support (each alternative writes its
// "class"); reading dispatches on "class" instead of Boost's try-each-alternative. Use value_to,
// not try_value_to, for variants.
template <VzClass... Ts>
std::variant<Ts...> tag_invoke(const boost::json::value_to_tag<std::variant<Ts...>>&, const boost::json::value& jv);

template <NamedEnum E>
void tag_invoke(const boost::json::value_from_tag&, boost::json::value& jv, E value);
template <NamedEnum E>
E tag_invoke(const boost::json::value_to_tag<E>&, const boost::json::value& jv);

namespace detail {

template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;

template <class T>
inline constexpr bool is_vector = false;
template <class T>
inline constexpr bool is_vector<std::vector<T>> = true;

template <class T>
inline constexpr bool is_string_map = false;
template <class T>
inline constexpr bool is_string_map<std::map<std::string, T>> = true;

template <class T>
constexpr std::string_view type_label()
{
    if constexpr (VzClass<T>)
        return T::class_name;
    else
        return JsonSchema<T>::label;
}

template <class T>
constexpr bool emits_class()
{
    if constexpr (requires { JsonSchema<T>::emit_class; })
        return JsonSchema<T>::emit_class;
    else
        return VzClass<T>;
}

inline std::string_view kind_name(const boost::json::value& jv) noexcept
{
    switch (jv.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return "boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64: return "integer";
    case boost::json::kind::double_: return "number";
    case boost::json::kind::string: return "string";
    case boost::json::kind::array: return "array";
    case boost::json::kind::object: return "object";
    }
    return "unknown";
}

inline ParseError type_error(std::string_view expected, const boost::json::value& got)
{
    return ParseError({}, "expected " + std::string(expected) + ", got " + std::string(kind_name(got)));
}

inline std::string join(std::initializer_list<std::string_view> items)
{
    std::string out;
    for (std::string_view item : items) {
        if (!out.empty())
            out += ", ";
        out += item;
    }
    return out;
}

inline const boost::json::object& as_object(const boost::json::value& jv, std::string_view what)
{
    if (!jv.is_object())
        throw type_error("object (" + std::string(what) + ")", jv);
    return jv.get_object();
}

template <std::integral I>
I read_integer(const boost::json::value& jv)
{
    auto out_of_range = [](auto value) {
        return ParseError({}, "integer " + std::to_string(value) + " out of range [" +
                                  std::to_string(std::numeric_limits<I>::min()) + ", " +
                                  std::to_string(std::numeric_limits<I>::max()) + "]");
    };
    if (jv.is_int64()) {
        const std::int64_t value = jv.get_int64();
        if (!std::in_range<I>(value))
            throw out_of_range(value);
        return static_cast<I>(value);
    }
    if (jv.is_uint64()) {
        const std::uint64_t value = jv.get_uint64();
        if (!std::in_range<I>(value))
            throw out_of_range(value);
        return static_cast<I>(value);
    }
    throw type_error("integer", jv);
}

/// Parses `jv` into `out`; errors carry the path below `jv`.
template <class T>
void read_value(const boost::json::value& jv, T& out)
{
    if constexpr (std::is_same_v<T, bool>) {
        if (!jv.is_bool())
            throw type_error("boolean", jv);
        out = jv.get_bool();
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (!jv.is_string())
            throw type_error("string", jv);
        out = std::string(jv.get_string());
    } else if constexpr (std::is_integral_v<T>) {
        out = read_integer<T>(jv);
    } else if constexpr (is_optional<T>) {
        if (jv.is_null()) {
            out.reset();
        } else {
            read_value(jv, out.emplace());
        }
    } else if constexpr (is_vector<T>) {
        if (!jv.is_array())
            throw type_error("array", jv);
        const auto& array = jv.get_array();
        out.clear();
        out.reserve(array.size());
        for (std::size_t i = 0; i < array.size(); ++i) {
            try {
                read_value(array[i], out.emplace_back());
            } catch (const ParseError& e) {
                throw e.nested_in("[" + std::to_string(i) + "]");
            }
        }
    } else if constexpr (is_string_map<T>) {
        if (!jv.is_object())
            throw type_error("object", jv);
        out.clear();
        for (const auto& entry : jv.get_object()) {
            std::string key(entry.key());
            try {
                read_value(entry.value(), out[key]);
            } catch (const ParseError& e) {
                throw e.nested_in("[\"" + key + "\"]");
            }
        }
    } else {
        out = boost::json::value_to<T>(jv);
    }
}

/// JSON for one member value (containers element by element, so nested errors keep paths).
template <class T>
boost::json::value write_value(const T& value, const boost::json::storage_ptr& sp)
{
    if constexpr (is_optional<T>) {
        return write_value(*value, sp);
    } else if constexpr (is_vector<T>) {
        boost::json::array array(sp);
        array.reserve(value.size());
        for (const auto& element : value)
            array.push_back(write_value(element, sp));
        return array;
    } else if constexpr (is_string_map<T>) {
        boost::json::object object(sp);
        for (const auto& [key, element] : value)
            object[key] = write_value(element, sp);
        return object;
    } else {
        return boost::json::value_from(value, sp);
    }
}

/// Whether a member is left out of the JSON: unset optionals and empty arrays/maps.
template <class T>
bool is_omitted(const T& value)
{
    if constexpr (is_optional<T>)
        return !value.has_value();
    else if constexpr (is_vector<T> || is_string_map<T>)
        return value.empty();
    else
        return false;
}

/// Reads the keys of one JSON object that mirrors a struct.
class ObjectReader {
public:
    ObjectReader(const boost::json::value& jv, std::string_view label)
        : m_object(as_object(jv, label)), m_label(label)
    {
    }

    /// Rejects keys not in `known`. "class" is accepted when `class_name` is non-empty and must
    /// then equal it.
    void check_keys(std::initializer_list<std::string_view> known, std::string_view class_name) const
    {
        for (const auto& entry : m_object) {
            const std::string_view key = entry.key();
            if (!class_name.empty() && key == "class") {
                check_class(entry.value(), class_name);
                continue;
            }
            bool found = false;
            for (std::string_view candidate : known)
                found = found || candidate == key;
            if (!found) {
                std::string reason = "unknown key '" + std::string(key) + "' in " + std::string(m_label);
                reason += known.size() == 0 ? std::string("; it takes no keys") : "; known keys: " + join(known);
                throw ParseError({}, std::move(reason));
            }
        }
    }

    template <class M>
    void read(std::string_view key, M& out, bool required) const
    {
        const auto* value = m_object.if_contains(key);
        if (value == nullptr) {
            if (required)
                throw ParseError({}, "missing key '" + std::string(key) + "' in " + std::string(m_label));
            return;
        }
        try {
            read_value(*value, out);
        } catch (const ParseError& e) {
            throw e.nested_in(key);
        }
    }

private:
    static void check_class(const boost::json::value& jv, std::string_view class_name)
    {
        if (!jv.is_string())
            throw type_error("string", jv).nested_in("class");
        if (jv.get_string() != class_name)
            throw ParseError("class", "unknown class '" + std::string(jv.get_string()) + "'; expected " +
                                          std::string(class_name));
    }

    const boost::json::object& m_object;
    std::string_view m_label;
};

template <JsonMirrored T>
void write_mirrored(boost::json::value& jv, const T& value)
{
    // Built in jv's own storage (an arena, when the caller passes one), so nothing is copied over.
    boost::json::object& object = jv.emplace_object();
    object.reserve(std::tuple_size_v<std::decay_t<decltype(JsonSchema<T>::fields)>> + 1);
    if constexpr (detail::emits_class<T>())
        object["class"] = T::class_name;
    std::apply(
        [&](const auto&... f) {
            ((detail::is_omitted(value.*f.member)
                  ? void()
                  : void(object[f.key] = detail::write_value(value.*f.member, object.storage()))),
             ...);
        },
        JsonSchema<T>::fields);
}

template <JsonMirrored T>
T read_mirrored(const boost::json::value& jv)
{
    constexpr std::string_view label = detail::type_label<T>();
    const detail::ObjectReader reader(jv, label);
    std::string_view accepted_class;
    if constexpr (VzClass<T>)
        accepted_class = T::class_name;
    std::apply([&](const auto&... f) { reader.check_keys({f.key...}, accepted_class); }, JsonSchema<T>::fields);

    T out{};
    std::apply([&](const auto&... f) { (reader.read(f.key, out.*f.member, f.required), ...); },
               JsonSchema<T>::fields);
    if constexpr (requires { JsonSchema<T>::check(out); })
        JsonSchema<T>::check(out);
    return out;
}

} // namespace detail

template <JsonMirrored T>
void tag_invoke(const boost::json::value_from_tag&, boost::json::value& jv, const T& value)
{
    detail::write_mirrored(jv, value);
}

template <JsonMirrored T>
T tag_invoke(const boost::json::value_to_tag<T>&, const boost::json::value& jv)
{
    return detail::read_mirrored<T>(jv);
}

template <VzClass... Ts>
std::variant<Ts...> tag_invoke(const boost::json::value_to_tag<std::variant<Ts...>>&, const boost::json::value& jv)
{
    const auto expected = [] { return detail::join({Ts::class_name...}); };
    const auto& object = detail::as_object(jv, "one of " + expected());
    const auto* tag = object.if_contains("class");
    if (tag == nullptr)
        throw ParseError({}, "missing key 'class'; expected one of " + expected());
    if (!tag->is_string())
        throw detail::type_error("string", *tag).nested_in("class");
    const std::string_view name = tag->get_string();

    std::optional<std::variant<Ts...>> out;
    (void)((Ts::class_name == name ? (out.emplace(std::in_place_type<Ts>, boost::json::value_to<Ts>(jv)), true)
                                   : false) ||
           ...);
    if (!out)
        throw ParseError("class", "unknown class '" + std::string(name) + "'; expected one of " + expected());
    return std::move(*out);
}

template <NamedEnum E>
void tag_invoke(const boost::json::value_from_tag&, boost::json::value& jv, E value)
{
    jv = to_string(value);
}

template <NamedEnum E>
E tag_invoke(const boost::json::value_to_tag<E>&, const boost::json::value& jv)
{
    if (!jv.is_string())
        throw detail::type_error("string", jv);
    if (auto value = enum_from_string<E>(jv.get_string()))
        return *value;
    std::string names;
    for (const auto& [enumerator, name] : EnumNames<E>::values)
        names += (names.empty() ? "" : ", ") + std::string(name);
    throw ParseError({}, "unknown value '" + std::string(jv.get_string()) + "'; expected one of " + names);
}

void tag_invoke(const boost::json::value_from_tag&, boost::json::value& jv, const Configuration& value)
{
    detail::write_mirrored(jv, value);
}

Configuration tag_invoke(const boost::json::value_to_tag<Configuration>&, const boost::json::value& jv)
{
    return detail::read_mirrored<Configuration>(jv);
}

} // namespace vzkit::vz
