// The referrers tag schema's index, updated by several writers at once
// (referrers_index.cpp), and what referrers.cpp shares with it.
#pragma once

#include "protocol.hpp"
#include "stores.hpp"

#include <optional>
#include <string>
#include <vector>

namespace coras::remote::detail {

/// The index under a referrers tag: its descriptor and entries.
struct index_content {
  descriptor desc;
  std::vector<descriptor> referrers;
};

/// The index under referrers tag `tag`, or nullopt when the tag does not exist
/// (referrers.cpp).
awaitable<std::optional<index_content>> referrers_from_index(state_ptr s, std::string tag);

/// An index read for an update.
struct index_read {
  bool ok = false;                     // false: a transient failure, in `problem`
  std::optional<index_content> index;  // nullopt: no index under the tag
  std::string problem;
};

/// The index under `tag` for an update; a 404 counts after a second read.
awaitable<index_read> read_for_update(state_ptr s, std::string tag);

/// DELETE of a manifest while other writers may rewrite the referrers tag
/// (a 404 is success, a 5xx is retried).
awaitable<void> delete_contended(state_ptr s, descriptor target);

/// Applies `change` to the index of `subject` under the referrers tag schema:
/// merged with the other changes queued for that tag, written, read back and
/// written again while another writer replaced it (bounded by
/// repository_options::max_referrers_index_retries).
awaitable<void> update_index(state_ptr s, descriptor subject, referrer_change change);

}  // namespace coras::remote::detail
