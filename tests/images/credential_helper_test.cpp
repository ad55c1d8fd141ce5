// Credential helpers (images/src/credential_helper.cpp): docker-credential-NAME programs on PATH,
// chosen as Docker chooses them (credHelpers for the host, else credsStore, else the file), run
// for get, store and erase; a missing, failing or badly answering helper is reported precisely
// and never with the secret. The helper is tests/images/docker-credential-vzkittest (a shell
// script keeping one file per server), and small failing ones written here.
#include <vzkit/images/auth.hpp>

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

std::string read(const fs::path& p) {
  std::stringstream ss;
  ss << std::ifstream(p).rdbuf();
  return ss.str();
}

// A temporary folder on PATH with the test helper, and DOCKER_CONFIG in it; restored after.
class HelperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("vzkit-helper-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir / "bin");
    fs::create_directories(dir / "docker");
    fs::copy_file(VZKIT_TEST_CREDENTIAL_HELPER, dir / "bin" / "docker-credential-vzkittest");
    old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
    ::setenv("PATH", ((dir / "bin").string() + ":" + old_path).c_str(), 1);
    ::setenv("DOCKER_CONFIG", (dir / "docker").c_str(), 1);
    ::unsetenv("REGISTRY_AUTH_FILE");
  }
  void TearDown() override {
    ::setenv("PATH", old_path.c_str(), 1);
    ::unsetenv("DOCKER_CONFIG");
    fs::remove_all(dir);
  }
  void config(const std::string& text) { std::ofstream(dir / "docker" / "config.json") << text; }
  // A helper of our own: `body` is the shell script after the #! line.
  void helper(const std::string& name, const std::string& body) {
    const auto p = dir / "bin" / ("docker-credential-" + name);
    std::ofstream(p) << "#!/bin/sh\n" << body << "\n";
    fs::permissions(p, fs::perms::owner_all);
  }
  std::string error_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const CredentialHelperError& e) {
      return e.what();
    } catch (const std::exception& e) {
      return std::string("(not a CredentialHelperError) ") + e.what();
    }
    return "(no error)";
  }
  fs::path dir;
  std::string old_path;
};

TEST_F(HelperTest, CredsStoreKeepsLoginsAndTheFileKeepsNoCopy) {
  config(R"({"credsStore": "vzkittest", "auths": {"r.io": {"auth": ")" + base64_encode("old:pw") + R"("}},
             "psFormat": "table"})");
  // Docker's order: with a helper named, the helper answers alone (its "not found" is no credentials).
  EXPECT_FALSE(find_credentials("r.io"));
  const auto place = store_credentials("r.io", "alice", "s3cret");
  EXPECT_EQ(place, "docker-credential-vzkittest (named by " + (dir / "docker" / "config.json").string() + ": credsStore)");
  const auto text = read(dir / "docker" / "config.json");
  EXPECT_EQ(text.find("\"r.io\""), std::string::npos) << "the entry in clear stayed: " << text;
  EXPECT_NE(text.find("psFormat"), std::string::npos) << text;
  EXPECT_EQ(read(dir / "bin" / "store" / "r.io"), R"({"ServerURL":"r.io","Username":"alice","Secret":"s3cret"})");
  const auto c = find_credentials("r.io");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->password, "s3cret");
  EXPECT_EQ(c->file, place);
  EXPECT_EQ(credentials_place("r.io"), place);
  EXPECT_TRUE(remove_credentials("r.io"));
  EXPECT_FALSE(fs::exists(dir / "bin" / "store" / "r.io"));
  EXPECT_FALSE(find_credentials("r.io"));
  EXPECT_FALSE(remove_credentials("r.io"));
  // The helper was asked with the address as written, then with https:// (Docker's older keys).
  EXPECT_NE(read(dir / "bin" / "log").find("get r.io\nget https://r.io\nstore r.io\nget r.io\n"), std::string::npos)
      << read(dir / "bin" / "log");
}

TEST_F(HelperTest, CredHelpersForTheHostWinOverCredsStore) {
  config(R"({"credsStore": "nosuch", "credHelpers": {"r.io": "vzkittest", "plain.io": ""},
             "auths": {"plain.io": {"auth": ")" + base64_encode("filed:pw") + R"("}}})");
  store_credentials("r.io", "bob", "pw");
  EXPECT_EQ(find_credentials("r.io")->username, "bob");
  // "" for a host keeps its credentials in the file, whatever credsStore says (as Docker).
  EXPECT_EQ(find_credentials("plain.io")->username, "filed");
  // Other hosts go to credsStore, whose program is missing.
  const auto e = error_of([] { find_credentials("q.io"); });
  EXPECT_NE(e.find("credsStore says credentials are kept by the credential helper 'nosuch', but "
                   "docker-credential-nosuch is not on PATH"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("hint: install docker-credential-nosuch"), std::string::npos) << e;
}

TEST_F(HelperTest, EntriesUnderHttpsAndDockerHubsAddress) {
  config(R"({"credsStore": "vzkittest"})");
  fs::create_directories(dir / "bin" / "store");
  std::ofstream(dir / "bin" / "store" / "https___h.io") << R"({"ServerURL":"https://h.io","Username":"u","Secret":"p"})";
  EXPECT_EQ(find_credentials("h.io")->username, "u");
  store_credentials("docker.io", "hub", "pw");
  EXPECT_TRUE(fs::exists(dir / "bin" / "store" / "https___index.docker.io_v1_"));
  EXPECT_EQ(find_credentials("docker.io")->username, "hub");
  // A Username of "<token>" makes the secret an identity token.
  helper("tok", R"sh(cat >/dev/null; echo '{"ServerURL": "t.io", "Username": "<token>", "Secret": "refresh-1"}')sh");
  config(R"({"credsStore": "tok"})");
  const auto c = find_credentials("t.io");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->identity_token, "refresh-1");
  EXPECT_EQ(c->username, "");
  EXPECT_EQ(c->password, "");
}

TEST_F(HelperTest, FailingHelpersAreReportedWithoutTheSecret) {
  helper("broken", R"sh(cat >/dev/null; echo "the keyring is locked" >&2; exit 3)sh");
  config(R"({"credsStore": "broken"})");
  auto e = error_of([] { find_credentials("r.io"); });
  EXPECT_NE(e.find("`docker-credential-broken get` for r.io (named by " + (dir / "docker" / "config.json").string() +
                   ": credsStore) failed: exit status 3; it said: the keyring is locked"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("hint: run `printf r.io | docker-credential-broken get`"), std::string::npos) << e;

  // A helper that repeats its input in its complaint: the secret is masked.
  helper("echoer", R"sh(echo "cannot store: $(cat)" >&2; exit 1)sh");
  config(R"({"credsStore": "echoer"})");
  e = error_of([] { store_credentials("r.io", "alice", "TOPSECRET"); });
  EXPECT_NE(e.find("`docker-credential-echoer store` for r.io"), std::string::npos) << e;
  EXPECT_NE(e.find("\"Secret\":\"***\""), std::string::npos) << e;
  EXPECT_EQ(e.find("TOPSECRET"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dir / "docker" / "config.json.tmp"));

  helper("badjson", R"sh(cat >/dev/null; echo '{"Username": "alice", "Secret": "TOPSECRET"')sh");
  config(R"({"credHelpers": {"r.io": "badjson"}})");
  e = error_of([] { find_credentials("r.io"); });
  EXPECT_NE(e.find("the answer of `docker-credential-badjson get` for r.io (named by " +
                   (dir / "docker" / "config.json").string() + ": credHelpers[\"r.io\"]) is not JSON"),
            std::string::npos)
      << e;
  EXPECT_EQ(e.find("TOPSECRET"), std::string::npos) << e;

  helper("wrongtype", R"sh(cat >/dev/null; echo '{"Username": "alice", "Secret": 12}')sh");
  config(R"({"credsStore": "wrongtype"})");
  e = error_of([] { find_credentials("r.io"); });
  EXPECT_NE(e.find("get` for r.io (named by " + (dir / "docker" / "config.json").string() +
                   ": credsStore): Secret: expected a string"),
            std::string::npos)
      << e;

  helper("slow", R"sh(cat >/dev/null; sleep 5)sh");
  e = error_of([] { helper_get(HelperRef{"slow", "the test"}, "r.io", std::chrono::milliseconds(300)); });
  EXPECT_NE(e.find("`docker-credential-slow get` for r.io (named by the test) failed: no answer within 300 ms"),
            std::string::npos)
      << e;
}

}  // namespace
