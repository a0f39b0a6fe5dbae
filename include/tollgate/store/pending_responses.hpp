#pragma once
// Stored Responses saved but not yet committed (they ride the request log's group commit): reads
// find them here meanwhile, so a client's next turn sees its last one (read-your-writes). Shared
// by the SQLite and PostgreSQL stores; thread-safe (saves on workers, the rest on store threads).

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tollgate/store/store.hpp"

namespace tg::store {

class PendingResponses {
 public:
  using Row = std::shared_ptr<const ResponseRow>;

  // Keeps `row` readable until committed(); the same pointer goes into the writer's batch.
  Row add(ResponseRow row) {
    auto shared = std::make_shared<const ResponseRow>(std::move(row));
    std::lock_guard lock(mu_);
    rows_[shared->id] = shared;
    return shared;
  }

  struct Lookup {
    bool pending = false;            // false: ask the database
    std::optional<ResponseRow> row;  // pending in another scope: none (not the caller's)
  };
  Lookup find(const std::string& id, const std::string& scope) const {
    std::lock_guard lock(mu_);
    auto it = rows_.find(id);
    if (it == rows_.end()) return {};
    if (it->second->scope != scope) return {true, std::nullopt};
    return {true, *it->second};
  }

  // Deletes a pending save of `id` in `scope`; true if there was one.
  bool drop(const std::string& id, const std::string& scope) {
    std::lock_guard lock(mu_);
    auto it = rows_.find(id);
    if (it == rows_.end() || it->second->scope != scope) return false;
    rows_.erase(it);
    return true;
  }

  // A batch holding these rows committed (or was given up): reads go to the database again. A
  // newer save of the same id stays.
  void committed(const std::vector<Row>& batch) {
    std::lock_guard lock(mu_);
    for (const auto& r : batch) {
      auto it = rows_.find(r->id);
      if (it != rows_.end() && it->second == r) rows_.erase(it);
    }
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, Row> rows_;
};

}  // namespace tg::store
