#include <coras/content/titles.hpp>
#include <coras/core/descriptor.hpp>
#include <coras/core/error.hpp>
#include <coras_test/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using coras::descriptor;
using coras::errc;
namespace content = coras::content;
using coras::test::temp_dir;

namespace {

struct accepted_row {
  std::string name;
  std::string title;
  std::string relative;  // what title_to_relative_path gives
};

struct refused_row {
  std::string name;
  std::string title;
  std::string why;  // the message is `title "T" WHY`
};

// Runs `f`, which must throw coras::error with errc::invalid_argument; its message.
template <class F>
std::string refusal_of(F&& f) {
  try {
    f();
  } catch (const coras::error& e) {
    CHECK(e.code() == errc::invalid_argument);
    return e.what();
  }
  FAIL("no coras::error was thrown");
  return {};
}

descriptor layer(char hex, std::optional<std::string> title) {
  descriptor d;
  d.media_type = "application/vnd.oci.image.layer.v1.tar";
  d.digest = coras::digest::parse("sha256:" + std::string(64, hex));
  d.size = 5;
  if (title) d.annotations[std::string(content::title_annotation)] = *title;
  return d;
}

}  // namespace

TEST_CASE("titles: safe titles become normal relative paths", "[content][titles]") {
  const std::vector<accepted_row> rows = {
      {"a plain name", "hello.txt", "hello.txt"},
      {"a subdirectory", "sub/dir/kept.txt", "sub/dir/kept.txt"},
      {"a leading dot segment", "./same.txt", "same.txt"},
      {"an inner dot segment", "a/./b", "a/b"},
      {"a doubled slash", "a//b", "a/b"},
      {"spaces and a colon", "my file:v1.txt", "my file:v1.txt"},
      {"dots inside a name", "..hidden", "..hidden"},
      {"dots ending a name", "name..", "name.."},
      {"a backslash is a name character", "a\\..\\b", "a\\..\\b"},
      {"UTF-8", "r\xc3\xa9sum\xc3\xa9.pdf", "r\xc3\xa9sum\xc3\xa9.pdf"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      const auto p = content::title_to_relative_path(row.title);
      CHECK(p == fs::path(row.relative));
      CHECK(p.is_relative());
    }
  }
}

TEST_CASE("titles: unsafe titles are refused with the reason", "[content][titles]") {
  const std::vector<refused_row> rows = {
      {"empty", "", "is empty"},
      {"absolute", "/etc/passwd", "is an absolute path"},
      {"two leading slashes", "//host/x", "is an absolute path"},
      {"parent", "..", "has a \"..\" component"},
      {"parent first", "../evil", "has a \"..\" component"},
      {"parent after a name", "a/../../evil", "has a \"..\" component"},
      {"parent that stays inside", "a/../b", "has a \"..\" component"},
      {"parent last", "a/..", "has a \"..\" component"},
      {"the directory itself", ".", "does not name a file"},
      {"the directory with a slash", "./", "does not name a file"},
      {"a directory", "sub/", "does not name a file"},
      {"the staging directory", ".coras-staging/sha256-x.partial",
       "uses the name of coras's staging directory (.coras-staging)"},
      {"the staging directory below", "a/.coras-staging/x",
       "uses the name of coras's staging directory (.coras-staging)"},
      {"the staging directory in another case", ".Coras-STAGING/x",
       "uses the name of coras's staging directory (.coras-staging)"},
      {"the staging directory alone", ".coras-staging",
       "uses the name of coras's staging directory (.coras-staging)"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      const auto message = refusal_of([&] { (void)content::title_to_relative_path(row.title); });
      CHECK(message == "title \"" + row.title + "\" " + row.why);
    }
  }
}

TEST_CASE("titles: control characters are refused, and escaped in the message",
          "[content][titles]") {
  struct row {
    std::string name;
    std::string title;
    std::string shown;  // the title as the message shows it
  };
  const std::vector<row> rows = {
      {"a newline", "a\nb", "a\\x0ab"},
      {"a NUL", std::string("a\0b", 3), "a\\x00b"},
      {"DEL", "a\x7f", "a\\x7f"},
      {"a terminal escape", "\x1b[2Jx", "\\x1b[2Jx"},
  };
  for (const auto& r : rows) {
    DYNAMIC_SECTION(r.name) {
      const auto message = refusal_of([&] { (void)content::title_to_relative_path(r.title); });
      CHECK(message == "title \"" + r.shown + "\" holds a control character");
    }
  }
}

TEST_CASE("titles: path_is_within compares whole components", "[content][titles]") {
  struct row {
    std::string name;
    std::string path;
    bool within;
  };
  const std::vector<row> rows = {
      {"the base itself", "/a/b", true},  {"a child", "/a/b/c", true},
      {"a grandchild", "/a/b/c/d", true}, {"a sibling sharing a prefix", "/a/bc", false},
      {"the parent", "/a", false},        {"elsewhere", "/x/y", false},
      {"the root", "/", false},
  };
  for (const auto& r : rows) {
    DYNAMIC_SECTION(r.name) { CHECK(content::path_is_within("/a/b", r.path) == r.within); }
  }
}

TEST_CASE("titles: title_to_target_path checks the file system", "[content][titles]") {
  temp_dir work;
  const auto base = work.path() / "dest";
  const auto outside = work.path() / "outside";
  fs::create_directories(base / "subdir");
  fs::create_directories(outside);
  fs::create_directory_symlink(outside, base / "link");           // leads out
  fs::create_directory_symlink(base / "subdir", base / "inner");  // stays in
  fs::create_directory_symlink(base, base / "self");              // the base itself
  fs::create_symlink(outside / "planted", base / "planted");      // dangling, out
  fs::create_directories(base / "linked" / "d");
  fs::create_directory_symlink(outside, base / "linked" / ".coras-staging");  // staged through
  fs::create_directories(base / "filed");
  { std::ofstream(base / "filed" / ".coras-staging") << "x"; }
  // A file named like the old staging name is just a file now.
  fs::create_symlink(outside / "p", base / "p.txt.partial");

  SECTION("accepted titles") {
    const std::vector<accepted_row> rows = {
        {"a new file", "ok.txt", "ok.txt"},
        {"in new subdirectories", "new/dir/x.txt", "new/dir/x.txt"},
        {"in an existing subdirectory", "subdir/x.txt", "subdir/x.txt"},
        {"through a link that stays inside", "inner/x.txt", "inner/x.txt"},
        {"normalised", "./subdir//y.txt", "subdir/y.txt"},
        {"beside a link named like a partial file", "p.txt", "p.txt"},
        {"in a directory below a linked staging directory", "linked/d/x.txt", "linked/d/x.txt"},
    };
    for (const auto& row : rows) {
      DYNAMIC_SECTION(row.name) {
        CHECK(content::title_to_target_path(base, row.title) == base / row.relative);
      }
    }
  }

  SECTION("refused titles") {
    const std::vector<refused_row> rows = {
        {"through a directory link that leads out", "link/x.txt",
         "leads outside the output directory (to " + (outside / "x.txt").string() + ")"},
        {"a link to the base", "self",
         "leads outside the output directory (to " + base.string() + ")"},
        {"a file that is a link", "planted",
         "names a symbolic link (" + (base / "planted").string() + ")"},
        {"a staging directory that is a link", "linked/x.txt",
         "is staged in " + (base / "linked/.coras-staging").string() +
             ", which is not a directory"},
        {"a directory", "subdir", "names a directory (" + (base / "subdir").string() + ")"},
        {"a staging directory that is a file", "filed/x.txt",
         "is staged in " + (base / "filed/.coras-staging").string() + ", which is not a directory"},
        {"a lexical refusal", "../evil", "has a \"..\" component"},
        {"an absolute title", (outside / "abs").string(), "is an absolute path"},
    };
    for (const auto& row : rows) {
      DYNAMIC_SECTION(row.name) {
        const auto message =
            refusal_of([&] { (void)content::title_to_target_path(base, row.title); });
        CHECK(message == "title \"" + row.title + "\" " + row.why);
      }
    }
  }

  // Nothing was created by checking.
  CHECK(fs::is_empty(outside));
  CHECK_FALSE(fs::exists(base / "ok.txt"));
  CHECK_FALSE(fs::exists(base / "new"));
}

TEST_CASE("titles: titled_layer_targets plans a whole manifest", "[content][titles]") {
  temp_dir work;
  const auto base = work.path();
  fs::create_directory_symlink("/", base / "root");

  SECTION("titled layers in order, untitled ones left out") {
    const std::vector<descriptor> layers = {layer('a', std::nullopt), layer('b', "sub/b.txt"),
                                            layer('c', "./c.txt"), layer('d', std::nullopt)};
    const auto targets = content::titled_layer_targets(base, layers);
    REQUIRE(targets.size() == 2);
    CHECK(targets[0].index == 1);
    CHECK(targets[0].title == "sub/b.txt");
    CHECK(targets[0].relative == fs::path("sub/b.txt"));
    CHECK(targets[0].path == base / "sub/b.txt");
    CHECK(targets[1].index == 2);
    CHECK(targets[1].title == "./c.txt");
    CHECK(targets[1].relative == fs::path("c.txt"));
    CHECK(targets[1].path == base / "c.txt");
  }

  SECTION("no layers, or none titled: nothing") {
    CHECK(content::titled_layer_targets(base, {}).empty());
    const std::vector<descriptor> layers = {layer('a', std::nullopt)};
    CHECK(content::titled_layer_targets(base, layers).empty());
  }

  struct row {
    std::string name;
    std::vector<descriptor> layers;
    std::string message;
  };
  const std::string digest_e = "sha256:" + std::string(64, 'e');
  const std::string digest_f = "sha256:" + std::string(64, 'f');
  const std::vector<row> rows = {
      {"a traversal names its layer",
       {layer('e', "../evil")},
       "layer " + digest_e + ": title \"../evil\" has a \"..\" component; refusing to write it"},
      {"the first bad layer is reported, after a good one",
       {layer('a', "ok.txt"), layer('f', "root/etc/x"), layer('e', "../evil")},
       "layer " + digest_f + ": title \"root/etc/x\" leads outside the output directory (to " +
           "/etc/x); refusing to write it"},
      {"two titles for one file",
       {layer('a', "same.txt"), layer('b', "./same.txt")},
       "two layers are titled \"same.txt\"; refusing to pull"},
      {"the same title twice",
       {layer('a', "x/y"), layer('b', "x//y")},
       "two layers are titled \"x/y\"; refusing to pull"},
      {"titles equal but for case",
       {layer('a', "README.md"), layer('b', "readme.md")},
       "titles \"README.md\" and \"readme.md\" differ only in case; refusing to pull"},
      {"directories equal but for case",
       {layer('a', "Sub/x"), layer('b', "./sub/X")},
       "titles \"Sub/x\" and \"./sub/X\" differ only in case; refusing to pull"},
      {"a file, then a title that needs it as a directory",
       {layer('a', "a"), layer('b', "a/b")},
       "title \"a\" names a file that title \"a/b\" needs as a directory; refusing to pull"},
      {"a title that needs a directory, then a file of that name",
       {layer('a', "a/b/c"), layer('b', "a/b")},
       "title \"a/b\" names a file that title \"a/b/c\" needs as a directory; refusing to "
       "pull"},
      {"a file and a directory equal but for case",
       {layer('a', "Docs"), layer('b', "docs/a.txt")},
       "title \"Docs\" names a file that title \"docs/a.txt\" needs as a directory; refusing "
       "to pull"},
      {"a title that is another's old staging name is fine, a staging name is not",
       {layer('a', "x"), layer('b', "x.partial"), layer('e', ".coras-staging/x")},
       "layer " + digest_e +
           ": title \".coras-staging/x\" uses the name of coras's staging directory "
           "(.coras-staging); refusing to write it"},
  };
  SECTION("titles that differ, or collide only under another name, are accepted") {
    const std::vector<descriptor> layers = {layer('a', "x"),    layer('b', "x.partial"),
                                            layer('c', "ab/c"), layer('d', "a/b"),
                                            layer('e', "a/bc"), layer('f', "X.tar")};
    CHECK(content::titled_layer_targets(base, layers).size() == layers.size());
  }

  for (const auto& r : rows) {
    DYNAMIC_SECTION("refused: " << r.name) {
      CHECK(refusal_of([&] { (void)content::titled_layer_targets(base, r.layers); }) == r.message);
    }
  }
}

TEST_CASE("titles: staging names are coras's own, from the digest", "[content][titles]") {
  const auto d = coras::digest::parse("sha256:" + std::string(64, 'a'));
  const auto x = content::staging_for("/out/x", d);
  CHECK(x.directory == fs::path("/out/.coras-staging"));
  CHECK(x.partial.parent_path() == x.directory);
  CHECK(x.record.parent_path() == x.directory);
  const auto stem = "sha256-" + std::string(64, 'a') + "-";
  CHECK(x.partial.filename().string().rfind(stem, 0) == 0);
  CHECK(x.partial.extension() == ".partial");
  CHECK(x.record.extension() == ".coras");
  CHECK(x.partial.stem() == x.record.stem());
  // No title chooses a staging name: x's is not x.partial, and a file named
  // x.partial stages elsewhere.
  CHECK(x.partial != fs::path("/out/x.partial"));
  const auto xp = content::staging_for("/out/x.partial", d);
  CHECK(xp.partial != x.partial);
  CHECK(xp.partial != fs::path("/out/x.partial.partial"));
  // Deterministic (a later attempt finds it); per directory.
  CHECK(content::staging_for("/out/x", d).partial == x.partial);
  CHECK(content::staging_for("/out/sub/x", d).directory == fs::path("/out/sub/.coras-staging"));
  CHECK(content::staging_record(d, 5) == "coras staged download 1\n" + d.str() + "\n5\n");
  CHECK(content::staging_record(d, 5) != content::staging_record(d, 6));
}
