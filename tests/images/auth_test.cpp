// Registry authentication (images/include/vzkit/images/auth.hpp): WWW-Authenticate challenges as
// registries send them, and credentials in Docker's config format.
#include <vzkit/images/auth.hpp>

#include "error_of.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

using namespace vzkit::images;
namespace fs = std::filesystem;

using vzkit::images::testing::error_of;

TEST(WwwAuthenticate, BearerAsDistributionSendsIt) {
  const auto cs = parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull,push")");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "Bearer");
  EXPECT_EQ(cs[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(cs[0].param("service"), "registry.docker.io");
  EXPECT_EQ(cs[0].param("scope"), "repository:library/debian:pull,push");  // the comma inside quotes stays
}

TEST(WwwAuthenticate, BasicSeveralChallengesAndOddSpacing) {
  const auto cs = parse_www_authenticate(R"(Basic realm="Registry Realm" ,  Bearer realm="https://t/x", Service=ghcr.io)");
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].scheme, "Basic");
  EXPECT_EQ(cs[0].param("realm"), "Registry Realm");
  EXPECT_EQ(cs[1].scheme, "Bearer");
  EXPECT_EQ(cs[1].param("service"), "ghcr.io");  // names are case-insensitive, values unquoted
  const auto esc = parse_www_authenticate(R"(Bearer realm="a\"b")");
  EXPECT_EQ(esc[0].param("realm"), "a\"b");
  EXPECT_EQ(parse_www_authenticate("Basic").at(0).scheme, "Basic");
}

TEST(WwwAuthenticate, Malformed) {
  EXPECT_NE(error_of([] { parse_www_authenticate(R"(Bearer realm="https://x)"); }).find("no closing quote"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_www_authenticate(R"(Bearer realm="x" ; y)"); }).find("unexpected ';'"),
            std::string::npos);
}

TEST(DockerConfig, ReadsAuthAndUsernamePassword) {
  const std::string text = R"({"auths": {
      "https://index.docker.io/v1/": {"auth": ")" + base64_encode("alice:s3cr:et") + R"("},
      "http://localhost:5000": {"username": "bob", "password": "pw"},
      "ghcr.io": {"auth": ")" + base64_encode("carol:tok") + R"(", "identitytoken": "refresh"}}})";
  auto c = credentials_in(text, "docker.io", "cfg.json");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->password, "s3cr:et");  // only the first ':' separates
  EXPECT_EQ(c->file, "cfg.json");
  c = credentials_in(text, "localhost:5000", "cfg.json");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "bob");
  EXPECT_EQ(credentials_in(text, "ghcr.io", "f")->identity_token, "refresh");
  EXPECT_FALSE(credentials_in(text, "quay.io", "f"));
  EXPECT_FALSE(credentials_in("", "quay.io", "f"));
}

TEST(DockerConfig, ErrorsNameTheFileAndPath) {
  EXPECT_NE(error_of([] { credentials_in("{", "r", "/h/.docker/config.json"); }).find("/h/.docker/config.json: not valid JSON"),
            std::string::npos);
  EXPECT_NE(error_of([] { credentials_in(R"({"auths": {"r": {"auth": "!!!!"}}})", "r", "c.json"); })
                .find("c.json: auths[\"r\"].auth: not base64"),
            std::string::npos);
  EXPECT_NE(error_of([] { credentials_in(R"({"auths": {"r": {"auth": ")" + base64_encode("nocolon") + R"("}}})", "r", "c.json"); })
                .find("has no ':'"),
            std::string::npos);
  // Credential helpers (run by tests/images/credential_helper_test.cpp): names that are not one word.
  EXPECT_NE(error_of([] { credentials_in(R"({"credHelpers": {"ghcr.io": "../x"}})", "ghcr.io", "c.json"); })
                .find("c.json: credHelpers[\"ghcr.io\"]: '../x' is not a credential helper's name"),
            std::string::npos);
  EXPECT_NE(error_of([] { credentials_in(R"({"credsStore": 3})", "r.io", "c.json"); }).find("c.json: credsStore: expected a string"),
            std::string::npos);
  EXPECT_NE(error_of([] { credentials_in(R"({"credHelpers": []})", "r.io", "c.json"); }).find("c.json: credHelpers: expected an object"),
            std::string::npos);
}

TEST(DockerConfig, AuthFileWinsAndLoginKeepsOtherKeys) {
  const auto dir = fs::temp_directory_path() / ("vzkit-auth-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "docker");
  std::ofstream(dir / "docker" / "config.json")
      << R"({"auths": {"r.io": {"auth": ")" << base64_encode("docker:1") << R"("}}, "psFormat": "table"})";
  ::setenv("DOCKER_CONFIG", (dir / "docker").c_str(), 1);
  ::unsetenv("REGISTRY_AUTH_FILE");
  EXPECT_EQ(find_credentials("r.io")->username, "docker");
  EXPECT_EQ(login_file(), dir / "docker" / "config.json");

  ::setenv("REGISTRY_AUTH_FILE", (dir / "auth.json").c_str(), 1);
  EXPECT_EQ(login_file(), dir / "auth.json");
  EXPECT_EQ(find_credentials("r.io")->username, "docker");  // auth.json does not exist yet
  store_credentials("r.io", "podman", "2");
  EXPECT_EQ(find_credentials("r.io")->username, "podman");
  EXPECT_EQ(find_credentials("r.io")->file, (dir / "auth.json").string());
  struct stat st {};
  ASSERT_EQ(::stat((dir / "auth.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  ::unsetenv("REGISTRY_AUTH_FILE");
  store_credentials("other.io", "x", "y");  // into the Docker file, keeping what it had
  std::stringstream text;
  text << std::ifstream(dir / "docker" / "config.json").rdbuf();
  EXPECT_NE(text.str().find("psFormat"), std::string::npos);
  EXPECT_EQ(find_credentials("r.io")->username, "docker");
  EXPECT_TRUE(remove_credentials("other.io"));
  EXPECT_FALSE(find_credentials("other.io"));
  EXPECT_FALSE(remove_credentials("other.io"));
  ::unsetenv("DOCKER_CONFIG");
  fs::remove_all(dir);
}

TEST(Base64, RoundTrips) {
  for (const std::string s : {"", "a", "ab", "abc", "abcd", "user:pass"}) EXPECT_EQ(base64_decode(base64_encode(s)), s);
  EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
}

}  // namespace
