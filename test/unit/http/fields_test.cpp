#include <coras/http/fields.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using coras::http::fields;

namespace {
std::vector<std::string> listed(const fields& h) {
  std::vector<std::string> out;
  for (const auto& f : h) out.push_back(std::string(f.name) + ": " + std::string(f.value));
  return out;
}
}  // namespace

TEST_CASE("http: fields keep order and repeated names, and find names in any case",
          "[http][fields]") {
  fields h;
  CHECK(h.empty());
  h.add("Content-Type", "application/json");
  h.add("Warning", "299 - \"one\"");
  h.add("warning", "299 - \"two\"");
  CHECK(h.size() == 3);
  CHECK(h.get("CONTENT-TYPE") == "application/json");
  CHECK(h.get_all("WARNING") == std::vector<std::string_view>{"299 - \"one\"", "299 - \"two\""});
  CHECK_FALSE(h.contains("Location"));
  CHECK(listed(h) == std::vector<std::string>{"Content-Type: application/json",
                                              "Warning: 299 - \"one\"", "warning: 299 - \"two\""});
  // An empty name or value is a field too.
  h.add("X-Empty", "");
  CHECK(h.get("x-empty") == "");
}

TEST_CASE("http: fields set replaces every field of a name; erase removes them all",
          "[http][fields]") {
  fields h;
  h.add("A", "1");
  h.add("B", "2");
  h.add("a", "3");
  h.set("A", "4");
  CHECK(listed(h) == std::vector<std::string>{"B: 2", "A: 4"});
  h.erase("b");
  CHECK(listed(h) == std::vector<std::string>{"A: 4"});
  h.erase("missing");
  CHECK(h.size() == 1);
}

TEST_CASE("http: fields set over and over keeps its text packed and its values right",
          "[http][fields]") {
  fields h;
  h.add("Accept", "application/vnd.oci.image.manifest.v1+json");
  for (int i = 0; i < 1000; ++i) {
    h.set("Authorization", "Bearer token-number-" + std::to_string(i));
    h.set("Range", "bytes=" + std::to_string(i) + "-");
  }
  CHECK(listed(h) == std::vector<std::string>{"Accept: application/vnd.oci.image.manifest.v1+json",
                                              "Authorization: Bearer token-number-999",
                                              "Range: bytes=999-"});
}

TEST_CASE("http: fields take a name or value viewing their own text", "[http][fields]") {
  fields h;
  h.add("Docker-Content-Digest", "sha256:0123456789abcdef");
  for (int i = 0; i < 100; ++i) {  // enough for the text to move as it grows
    auto f = *h.begin();
    h.add(f.value, f.name);
  }
  CHECK(h.size() == 101);
  CHECK(h.get("sha256:0123456789abcdef") == "Docker-Content-Digest");
  fields copy = h;
  h.set("Docker-Content-Digest", *copy.get("sha256:0123456789abcdef"));
  CHECK(h.get_all("docker-content-digest").size() == 1);
  CHECK(copy.size() == 101);
}

TEST_CASE("http: fields set from their own value survives the packing it causes",
          "[http][fields]") {
  fields h;
  h.add("Keep", "a value long enough to be worth keeping around");
  for (int i = 0; i < 50; ++i) h.set("Churn", "value number " + std::to_string(i));
  // Erasing "Churn" leaves most of the text unused: the add inside set packs
  // it while the value it was given still points into it.
  h.set("Churn", *h.get("Keep"));
  CHECK(h.get("churn") == "a value long enough to be worth keeping around");
  CHECK(h.get("keep") == "a value long enough to be worth keeping around");
}

TEST_CASE("http: fields moved from are empty and usable, their gaps forgotten", "[http][fields]") {
  fields h;
  h.add("Keep", "kept");
  for (int i = 0; i < 20; ++i) h.set("Churn", "a value of some length " + std::to_string(i));
  h.erase("Churn");  // its text stays, counted unused, until the next add packs it
  fields taken = std::move(h);
  CHECK(taken.get("keep") == "kept");
  CHECK_FALSE(taken.contains("churn"));
  CHECK(h.empty());  // NOLINT(bugprone-use-after-move): the documented state
  // add packs by the count of unused text: it must be this object's own,
  // not the one from before the move (it would wrap around).
  h.add("A", "1");
  h.add("B", "2");
  h.erase("A");
  CHECK(listed(h) == std::vector<std::string>{"B: 2"});
  fields other;
  other.add("C", "3");
  other = std::move(taken);
  CHECK(listed(other) == std::vector<std::string>{"Keep: kept"});
  CHECK(taken.empty());  // NOLINT(bugprone-use-after-move)
  taken.set("D", "4");
  CHECK(listed(taken) == std::vector<std::string>{"D: 4"});
}
