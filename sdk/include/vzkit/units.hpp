// Sizes with units, as specs write them ("4GiB", "512MiB", "1.5G"). Header-only: the kernel and
// plugins share one reading of a size.
#pragma once

#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vzkit {

/// Bytes for "64GiB", "1.5G", "4096": the same units as the spec's "memory". Nullopt on bad
/// syntax, fractions of a byte and overflow.
inline std::optional<std::uint64_t> parse_size(std::string_view t) {
  std::size_t i = 0;
  unsigned __int128 mantissa = 0, scale = 1;
  bool point = false, digits = false;
  for (; i < t.size() && i < 24; ++i) {
    const char ch = t[i];
    if (ch == '.' && !point) {
      point = true;
    } else if (std::isdigit(static_cast<unsigned char>(ch))) {
      mantissa = mantissa * 10 + static_cast<unsigned>(ch - '0');
      if (point) scale *= 10;
      digits = true;
    } else {
      break;
    }
  }
  if (!digits || (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])))) return std::nullopt;
  std::string_view unit = t.substr(i);
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  struct Unit {
    std::string_view name;
    std::uint64_t factor;
  };
  static constexpr Unit units[] = {{"", 1},
                                   {"B", 1},
                                   {"K", 1ull << 10}, {"KiB", 1ull << 10}, {"KB", 1000ull},
                                   {"M", 1ull << 20}, {"MiB", 1ull << 20}, {"MB", 1000000ull},
                                   {"G", 1ull << 30}, {"GiB", 1ull << 30}, {"GB", 1000000000ull},
                                   {"T", 1ull << 40}, {"TiB", 1ull << 40}, {"TB", 1000000000000ull}};
  for (const auto& u : units) {
    if (unit != u.name) continue;
    const unsigned __int128 total = mantissa * u.factor;
    if (total % scale != 0) return std::nullopt;
    const unsigned __int128 bytes = total / scale;
    if (bytes > UINT64_MAX) return std::nullopt;
    return static_cast<std::uint64_t>(bytes);
  }
  return std::nullopt;
}

/// "4 GiB", "1536 MiB", "1000 B": the largest binary unit that divides the size exactly.
inline std::string format_size(std::uint64_t bytes) {
  static constexpr const char* names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (i < 4 && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++i;
  }
  return std::to_string(bytes) + " " + names[i];
}

/// A size rounded for people, in the largest binary unit that keeps it at least 1: "17 B",
/// "4.0 KiB", "1.5 GiB", "512 MiB" (one decimal below 10). For progress and listings.
inline std::string approx_size(std::uint64_t bytes) {
  static constexpr const char* names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int i = 0;
  while (i < 4 && v >= 1024) {
    v /= 1024;
    ++i;
  }
  if (i == 0) return std::to_string(bytes) + " B";
  const auto tenths = static_cast<std::uint64_t>(v * 10 + 0.5);
  if (v < 10) return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " " + names[i];
  return std::to_string(static_cast<std::uint64_t>(v + 0.5)) + " " + names[i];
}

/// The size a user probably meant when `text` does not fit, for "try ..." hints: the same number
/// in the binary unit when a decimal one was written ("512MB" -> "512MiB"); a bare number of fewer
/// than `least` bytes with the smallest binary unit that makes it at least that ("8" -> "8GiB" for
/// a disk, "512" -> "512MiB" for memory); otherwise the size rounded up to a whole `granularity`.
/// Written as specs and flags write sizes, without a space. "" when `text` is no size at all.
inline std::string suggest_size(std::string_view text, std::uint64_t granularity, std::uint64_t least = 0) {
  const auto bytes = parse_size(text);
  if (!bytes || granularity == 0) return {};
  auto fits = [&](const std::string& t) {
    const auto b = parse_size(t);
    return b && *b % granularity == 0 && *b >= least;
  };
  std::size_t digits = 0;
  while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.')) ++digits;
  const std::string number(text.substr(0, digits));
  std::string_view unit = text.substr(digits);
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  static constexpr std::string_view decimal[] = {"KB", "MB", "GB", "TB"}, binary[] = {"KiB", "MiB", "GiB", "TiB"};
  for (std::size_t i = 0; i < 4; ++i)
    if (unit == decimal[i] && fits(number + std::string(binary[i]))) return number + std::string(binary[i]);
  if ((unit.empty() || unit == "B") && *bytes < least)
    for (const auto b : binary)
      if (fits(number + std::string(b))) return number + std::string(b);
  std::uint64_t rounded = (*bytes + granularity - 1) / granularity * granularity;
  if (rounded == 0) rounded = granularity;
  std::string out = format_size(rounded);
  out.erase(out.find(' '), 1);
  return out;
}

}  // namespace vzkit
