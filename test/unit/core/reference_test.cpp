#include <coras/core/error.hpp>
#include <coras/core/reference.hpp>

#include <catch2/catch.hpp>

#include <string>

using coras::errc;
using coras::reference;

namespace {

const std::string hex64(64, 'a');
const std::string sha = "sha256:" + hex64;
const std::string sha512 = "sha512:" + std::string(128, 'b');

struct valid_case {
  std::string input;
  std::string registry;
  std::string repository;
  std::string object;  // tag or digest
  bool is_digest;
};

struct invalid_case {
  std::string input;
  std::string message_part;  // what the error must mention
};

}  // namespace

TEST_CASE("reference: valid vectors parse into their parts", "[reference]") {
  const std::vector<valid_case> cases = {
      {"localhost/test", "localhost", "test", "", false},
      {"localhost:5000/test", "localhost:5000", "test", "", false},
      {"localhost:5000/test:latest", "localhost:5000", "test", "latest", false},
      {"registry.example.com/org/repo:v1.0.0", "registry.example.com", "org/repo", "v1.0.0", false},
      {"docker.io/library/ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", false},
      {"example.com/foo/bar/baz:latest", "example.com", "foo/bar/baz", "latest", false},
      {"127.0.0.1:5000/repo@" + sha, "127.0.0.1:5000", "repo", sha, true},
      {"1.2.3.4/repo", "1.2.3.4", "repo", "", false},
      {"[::1]:5000/repo:tag", "[::1]:5000", "repo", "tag", false},
      {"[2001:db8::1]/repo", "[2001:db8::1]", "repo", "", false},
      {"[::ffff:127.0.0.1]:443/a/b", "[::ffff:127.0.0.1]:443", "a/b", "", false},
      {"a.b.c/d-e/f_g/h__i/j.k:tag", "a.b.c", "d-e/f_g/h__i/j.k", "tag", false},
      {"example.com/a---b", "example.com", "a---b", "", false},
      {"example.com/re__po", "example.com", "re__po", "", false},
      {"example.com/re_po", "example.com", "re_po", "", false},
      {"example.com/re.po", "example.com", "re.po", "", false},
      {"Example.COM/repo", "Example.COM", "repo", "", false},
      {"xn--bcher-kva.example/repo", "xn--bcher-kva.example", "repo", "", false},
      {"my-registry.local:65535/a/b/c/d/e/f", "my-registry.local:65535", "a/b/c/d/e/f", "", false},
      {"example.com/repo:_tag", "example.com", "repo", "_tag", false},
      {"example.com/repo:TAG_1.0-rc", "example.com", "repo", "TAG_1.0-rc", false},
      {"example.com/repo:" + std::string(128, 't'), "example.com", "repo", std::string(128, 't'),
       false},
      {"example.com/repo@" + sha512, "example.com", "repo", sha512, true},
      {"example.com/repo:v1@" + sha, "example.com", "repo", sha, true},  // digest wins
      {"example.com/0/1:0", "example.com", "0/1", "0", false},
      {"localhost/a1b2c3", "localhost", "a1b2c3", "", false},
      {"k8s.gcr.io/pause:3.9", "k8s.gcr.io", "pause", "3.9", false},
      {"ghcr.io/oras-project/oras:v1.2.0", "ghcr.io", "oras-project/oras", "v1.2.0", false},
      {"r/n", "r", "n", "", false},
      {"r/n:t", "r", "n", "t", false},
  };
  for (const auto& c : cases) {
    INFO(c.input);
    auto ref = reference::parse(c.input);
    CHECK(ref.registry() == c.registry);
    CHECK(ref.repository() == c.repository);
    CHECK(ref.tag_or_digest() == c.object);
    CHECK(ref.has_digest() == c.is_digest);
    CHECK(ref.has_tag() == (!c.is_digest && !c.object.empty()));
    if (c.is_digest) CHECK(ref.digest().str() == c.object);
    // str() gives the canonical form, which parses to the same value.
    CHECK(reference::parse(ref.str()) == ref);
  }
}

TEST_CASE("reference: invalid vectors fail with a message that says what is wrong", "[reference]") {
  const std::vector<invalid_case> cases = {
      {"", "missing registry or repository"},
      {"repo", "missing registry or repository"},
      {"/repo", "registry is empty"},
      {"example.com/", "repository is empty"},
      {"example.com//repo", "empty path component at position 0"},
      {"example.com/repo/", "ends with a separator"},
      {"example.com/-repo", "must start with [a-z0-9]"},
      {"example.com/repo-", "must be followed by [a-z0-9]"},
      {"example.com/re..po", "invalid separator sequence"},
      {"example.com/re___po", "invalid separator sequence"},
      {"example.com/re._po", "invalid separator sequence"},
      {"example.com/Repo", "upper-case 'R' at position 0"},
      {"example.com/rEpo", "upper-case 'E' at position 1"},
      {"example.com/rep o", "unexpected ' ' at position 3"},
      {"example.com/r\xc3\xa9po", "byte 0xc3"},
      {"example.com/repo\n", "byte 0x0a"},
      {"exa_mple.com/repo", "unexpected '_' at position 3"},
      {"-example.com/repo", "starts or ends with '-'"},
      {"example-.com/repo", "starts or ends with '-'"},
      {"example..com/repo", "empty host component"},
      {".example.com/repo", "empty host component"},
      {"example.com:/repo", "empty port"},
      {"example.com:abc/repo", "unexpected 'a' at position 12 in port"},
      {"example.com:65536/repo", "out of range"},
      {"example.com:0/repo", "port 0"},
      {"[::1/repo", "no closing ']'"},
      {"[zz::1]/repo", "is not an IPv6 address"},
      {"[::1]x/repo", "after IPv6 address"},
      {"example.com/repo:", "empty tag"},
      {"example.com/repo:-tag", "must start with [A-Za-z0-9_]"},
      {"example.com/repo:.tag", "must start with [A-Za-z0-9_]"},
      {"example.com/repo:ta g", "unexpected ' ' at position 2 in tag"},
      {"example.com/repo:tag:tag2", "unexpected ':'"},
      {"example.com/repo:" + std::string(129, 't'), "at most 128"},
      {"example.com/repo@", "empty digest"},
      {"example.com/repo@sha256:" + std::string(64, 'A'), "upper-case hex"},
      {"example.com/repo@sha256:abc", "needs 64 hex characters, got 3"},
      {"example.com/repo@md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported algorithm \"md5\""},
      {"example.com/repo@" + sha + "@x", "non-hex character"},
      {"example.com/repo@sha256", "missing ':'"},
      {"example.com/repo:bad tag@" + sha, "unexpected ' '"},
      {"example.com/" + std::string(250, 'a'), "longer than 255"},
      {"example.com/repo:v1\t", "byte 0x09"},
  };
  for (const auto& c : cases) {
    INFO(c.input);
    std::string why;
    auto r = reference::try_parse(c.input, &why);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::invalid_reference);
    CHECK_THAT(why, Catch::Contains(c.message_part));
    CHECK_THAT(why, Catch::StartsWith("invalid reference"));
    // The throwing form says the same.
    try {
      reference::parse(c.input);
      FAIL("parse accepted " << c.input);
    } catch (const coras::error& e) {
      CHECK(e.code() == errc::invalid_reference);
      CHECK(std::string(e.what()) == why);
    }
  }
}

TEST_CASE("reference: the whole name may be 255 characters, not 256", "[reference]") {
  std::string registry = "example.com";
  std::string ok = registry + "/" + std::string(255 - registry.size() - 1, 'a');
  CHECK(reference::try_parse(ok).has_value());
  CHECK_FALSE(reference::try_parse(ok + "a").has_value());
}

TEST_CASE("reference: resolve relative to a repository (oras-go Repository.ParseReference)",
          "[reference]") {
  const auto base = reference::parse("example.com/repo");

  auto tag = base.resolve("v1");
  CHECK(tag.str() == "example.com/repo:v1");
  CHECK(tag.has_tag());

  auto by_digest = base.resolve(sha);
  CHECK(by_digest.has_digest());
  CHECK(by_digest.str() == "example.com/repo@" + sha);

  // `@` implies a digest; whatever stands before it is dropped.
  CHECK(base.resolve("v1@" + sha) == by_digest);
  CHECK(base.resolve("@" + sha) == by_digest);

  // A full reference must name the same repository.
  CHECK(base.resolve("example.com/repo:v2").tag() == "v2");
  CHECK(base.resolve("example.com/repo@" + sha) == by_digest);

  std::string why;
  auto other = base.try_resolve("example.com/other:v2", &why);
  REQUIRE_FALSE(other.has_value());
  CHECK_THAT(why, Catch::Contains("mismatch between received \"example.com/other:v2\""));
  CHECK_FALSE(base.try_resolve("other.com/repo:v2").has_value());
  CHECK_FALSE(base.try_resolve("example.com/repo", &why).has_value());
  CHECK_THAT(why, Catch::Contains("no tag or digest"));
  CHECK_FALSE(base.try_resolve("").has_value());
  CHECK_FALSE(base.try_resolve("bad tag").has_value());
  CHECK_FALSE(base.try_resolve("sha256:bad").has_value());
  CHECK_FALSE(base.try_resolve("v1@").has_value());
  CHECK_THROWS_AS(base.resolve("-v1"), coras::error);
  // The base's name is trusted only when it has one (it was parsed); a
  // default-constructed reference resolves nothing, nor does `with`.
  CHECK_FALSE(reference().try_resolve("v1").has_value());
  CHECK_THROWS_AS(reference().with("v1"), coras::error);
}

TEST_CASE("reference: from_parts and with validate their input", "[reference]") {
  auto ref = reference::from_parts("localhost:5000", "a/b", "v1");
  CHECK(ref.str() == "localhost:5000/a/b:v1");
  CHECK(ref.with(sha).str() == "localhost:5000/a/b@" + sha);
  CHECK(ref.with("").str() == "localhost:5000/a/b");
  CHECK(ref.name() == "localhost:5000/a/b");
  CHECK_THROWS_AS(reference::from_parts("localhost", "A", ""), coras::error);
  CHECK_THROWS_AS(ref.with("sha256:zz"), coras::error);
  CHECK_THROWS_AS(ref.with("bad tag"), coras::error);
}

TEST_CASE("reference: part checkers", "[reference]") {
  CHECK(coras::check_registry("localhost:5000").empty());
  CHECK_FALSE(coras::check_registry("local host").empty());
  CHECK(coras::check_repository("a/b").empty());
  CHECK_FALSE(coras::check_repository("a//b").empty());
  CHECK(coras::check_tag("v1").empty());
  CHECK_FALSE(coras::check_tag("").empty());
}
