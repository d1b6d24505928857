// The tag and listing commands: tags, repos, tag. Each parses and checks its
// arguments first (mistakes exit 2 before any request), then runs one
// coroutine of registry calls; protocol logic stays in the library.
#include "commands.hpp"
#include "options.hpp"

#include <iostream>
#include <span>
#include <string>
#include <vector>

namespace coras::cli {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

// ---- usage texts ----

constexpr std::string_view tags_text = R"(usage: coras tags REPO

Lists the tags of REPO (registry/repository), one per line, every page.
)";

constexpr std::string_view repos_text = R"(usage: coras repos REGISTRY

Lists the repositories of REGISTRY (host[:port]) from its catalog, one per
line, every page.
)";

constexpr std::string_view tag_text = R"(usage: coras tag REF NEWTAG...

Resolves REF (registry/repository:tag or @digest) and tags its manifest with
each NEWTAG: in one request where the registry creates tags from ?tag=
parameters (distribution-spec 1.1), else one request per NEWTAG, in order.
)";

// ---- the operations (named coroutines with by-value parameters) ----

awaitable<void> tags_op(remote::repository repo) {
  auto print = [](std::span<const std::string> page) {
    for (const auto& t : page) std::cout << one_line(t) << '\n';  // a hostile registry's names
    return true;
  };
  co_await repo.async_tags({}, print);
}

awaitable<void> repos_op(remote::registry reg) {
  auto print = [](std::span<const std::string> page) {
    for (const auto& r : page) std::cout << one_line(r) << '\n';
    return true;
  };
  co_await reg.async_repositories({}, print);
}

awaitable<void> tag_op(remote::repository repo, std::string ref, std::vector<std::string> tags) {
  auto desc = co_await repo.async_resolve(ref);
  // One PUT with every tag where the registry takes `?tag=`, else one each.
  co_await repo.async_tag_n(desc, std::move(tags));
}

}  // namespace

// ---- the commands ----

int tags(std::span<const std::string_view> args, const global_options& g) {
  return command("tags", tags_text, args, g, {},
                 [](const parsed_args& a, const global_options& opts) {
                   expect_positionals(a, 1, 1);
                   auto ref = parse_ref(a.positionals[0], ref_kind::repository);
                   session s(opts);
                   return s.run(tags_op(s.repository(ref)));
                 });
}

int repos(std::span<const std::string_view> args, const global_options& g) {
  return command("repos", repos_text, args, g, {},
                 [](const parsed_args& a, const global_options& opts) {
                   expect_positionals(a, 1, 1);
                   const auto& name = a.positionals[0];
                   if (auto problem = check_registry(name); !problem.empty())
                     throw usage_error{"invalid registry \"" + name + "\": " + problem};
                   session s(opts);
                   return s.run(repos_op(s.registry(name)));
                 });
}

int tag(std::span<const std::string_view> args, const global_options& g) {
  return command(
      "tag", tag_text, args, g, {}, [](const parsed_args& a, const global_options& opts) {
        expect_positionals(a, 2, a.positionals.size());
        auto ref = parse_ref(a.positionals[0], ref_kind::tag_or_digest);
        std::vector<std::string> new_tags(a.positionals.begin() + 1, a.positionals.end());
        for (const auto& t : new_tags)
          if (auto problem = check_tag(t); !problem.empty())
            throw usage_error{"invalid tag \"" + t + "\": " + problem};
        session s(opts);
        return s.run(tag_op(s.repository(ref), ref.tag_or_digest(), std::move(new_tags)));
      });
}

}  // namespace coras::cli
