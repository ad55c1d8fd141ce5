// Image references as other OCI clients write them: [REGISTRY/]REPOSITORY[:TAG][@DIGEST].
#pragma once

#include <stdexcept>
#include <string>

namespace vzkit::images {

/// A reference that cannot name an image; what() says which part is wrong and what would do.
struct ReferenceError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

struct Reference {
  std::string registry;    ///< host[:port] as written ("docker.io" when none is)
  std::string repository;  ///< "cirruslabs/macos-sequoia-base"; Docker Hub's "library/" added
  std::string tag;         ///< "" when a digest is given alone; "latest" when neither is
  std::string digest;      ///< "sha256:..." or ""

  /// The tag or else the digest, as the manifest URL names it.
  const std::string& version() const { return digest.empty() ? tag : digest; }
  /// "registry/repository:tag" (or "@digest"), the canonical text.
  std::string str() const;
  /// The host the API is served from ("registry-1.docker.io" for Docker Hub).
  std::string api_host() const;
  /// Whether the registry is this machine (localhost or 127.0.0.1, any port).
  bool is_local() const;
};

/// Parses a reference. The first component is the registry when it contains '.' or ':' or is
/// "localhost" (as Docker decides). Throws ReferenceError.
Reference parse_reference(const std::string& text);

/// Whether `text` looks like an image reference rather than a VM name (it has a '/' or a ':').
bool looks_like_reference(const std::string& text);

}  // namespace vzkit::images
