// The Bearer token flow of the registry client (images/src/registry.cpp) against a small HTTP
// server on 127.0.0.1 that plays a registry and its token service: the 401 names the realm, the
// token is fetched with the credentials as Basic, cached, and refused credentials are reported.
#include <vzkit/images/auth.hpp>
#include <vzkit/images/registry.hpp>

#include "fake_http.hpp"

#include <gtest/gtest.h>

#include <atomic>

namespace {

using namespace vzkit::images;
using vzkit::images::testing::FakeHttp;

// A registry whose manifest needs a Bearer token from its token service (/token), which wants
// alice's credentials as Basic.
class FakeRegistry {
 public:
  FakeRegistry() : m_http([this](const FakeHttp::Request& r) { return answer(r); }) {}
  std::string addr() const { return m_http.addr(); }
  std::atomic<int> token_requests{0};
  std::string last_token_query;

 private:
  FakeHttp::Reply answer(const FakeHttp::Request& r) {
    const auto auth = r.header("authorization");
    if (r.method == "POST" && r.target == "/token") {  // OAuth2: an identity token for an access token
      ++token_requests;
      last_token_query = r.body;
      if (r.body.find("grant_type=refresh_token") == std::string::npos ||
          r.body.find("refresh_token=refresh-1") == std::string::npos)
        return {"401 Unauthorized", "", ""};
      return {"200 OK", "Content-Type: application/json\r\n", R"({"access_token": "tok-123", "expires_in": 300})"};
    }
    if (r.target.rfind("/token?", 0) == 0) {
      ++token_requests;
      last_token_query = r.target;
      if (auth != "Basic " + base64_encode("alice:s3cret")) return {"401 Unauthorized", "", ""};
      return {"200 OK", "Content-Type: application/json\r\n", R"({"token": "tok-123", "expires_in": 300})"};
    }
    if (r.target == "/v2/team/app/manifests/v1") {
      if (auth != "Bearer tok-123")
        return {"401 Unauthorized",
                "WWW-Authenticate: Bearer realm=\"http://" + addr() +
                    "/token\",service=\"fake\",scope=\"repository:team/app:pull\"\r\n",
                R"({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})"};
      return {"200 OK", "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n", R"({"schemaVersion": 2})"};
    }
    return {"404 Not Found", "", ""};
  }
  FakeHttp m_http;
};

Credentials creds(const std::string& password) {
  Credentials c;
  c.username = "alice";
  c.password = password;
  c.file = "the test";
  return c;
}

TEST(RegistryBearer, FetchesATokenFromTheRealmAndKeepsIt) {
  FakeRegistry fake;
  Registry reg(parse_reference(fake.addr() + "/team/app:v1"), RegistryOptions{true, creds("s3cret")});
  const auto m = reg.get_manifest("v1");
  EXPECT_EQ(m.body, R"({"schemaVersion": 2})");
  EXPECT_EQ(m.media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(fake.token_requests, 1);
  EXPECT_NE(fake.last_token_query.find("service=fake"), std::string::npos) << fake.last_token_query;
  EXPECT_NE(fake.last_token_query.find("scope=repository%3Ateam%2Fapp%3Apull"), std::string::npos)
      << fake.last_token_query;
  auto other = reg.fork();  // another thread's handle shares the token
  other.get_manifest("v1");
  EXPECT_EQ(fake.token_requests, 1);
}

TEST(RegistryBearer, AnIdentityTokenIsExchangedForAnAccessToken) {
  FakeRegistry fake;
  Credentials c;
  c.identity_token = "refresh-1";
  c.file = "docker-credential-x (named by the test)";
  Registry reg(parse_reference(fake.addr() + "/team/app:v1"), RegistryOptions{true, c});
  EXPECT_EQ(reg.get_manifest("v1").body, R"({"schemaVersion": 2})");
  EXPECT_EQ(fake.token_requests, 1);
  EXPECT_NE(fake.last_token_query.find("service=fake"), std::string::npos) << fake.last_token_query;
  EXPECT_NE(fake.last_token_query.find("scope=repository%3Ateam%2Fapp%3Apull"), std::string::npos)
      << fake.last_token_query;
  c.identity_token = "stale";
  Registry refused(parse_reference(fake.addr() + "/team/app:v1"), RegistryOptions{true, c});
  try {
    refused.get_manifest("v1");
    FAIL() << "no error";
  } catch (const RegistryError& e) {
    EXPECT_NE(std::string(e.what()).find("refused the identity token from docker-credential-x (named by the test)"),
              std::string::npos)
        << e.what();
  }
}

TEST(RegistryBearer, RefusedCredentialsAreReported) {
  FakeRegistry fake;
  Registry reg(parse_reference(fake.addr() + "/team/app:v1"), RegistryOptions{true, creds("wrong")});
  try {
    reg.get_manifest("v1");
    FAIL() << "no error";
  } catch (const RegistryError& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("refused the credentials of 'alice' from the test"), std::string::npos) << w;
    EXPECT_NE(w.find("vzkit login " + fake.addr()), std::string::npos) << w;
    EXPECT_FALSE(e.transient);
  }
}

TEST(RegistryBearer, InsecureOnlyForThisMachine) {
  EXPECT_THROW(Registry(parse_reference("ghcr.io/a/b:1"), RegistryOptions{true, std::nullopt}), std::invalid_argument);
  EXPECT_NO_THROW(Registry(parse_reference("localhost:5000/a/b:1"), RegistryOptions{true, std::nullopt}));
}

}  // namespace
