// The simulated API server: the one store of cluster state.
//
// Reads are served from the watch cache and reflect every write applied so
// far (controllers see what an up-to-date informer would). Writes take
// `request_latency` of simulated time to apply; then every watcher of that
// kind is told, synchronously and in registration order. Each applied write
// takes the next resource version (one counter, like etcd's revision).
//
// Write kinds, as in Kubernetes:
// - Create: fails with kAlreadyExists if the key is taken.
// - Update: optimistic concurrency; fails with kConflict unless the object's
//   resource_version equals the stored one.
// - Patch: applies a mutation to the object as stored when the write lands
//   (status updates, bindings); fails with kNotFound.
// - Delete: a Pod is marked deleting (graceful deletion; Modified) and is
//   removed by a second Delete once its kubelet has stopped it; any other
//   object is removed at once (Deleted).
#ifndef PLATSIM_PLATFORM_API_SERVER_H_
#define PLATSIM_PLATFORM_API_SERVER_H_

#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "platform/argo.h"
#include "platform/autoscaling.h"
#include "platform/objects.h"
#include "sim/engine.h"

namespace platsim::platform {

enum class WatchType { kAdded, kModified, kDeleted };
enum class WriteStatus { kOk, kAlreadyExists, kConflict, kNotFound };

using WriteCallback = std::function<void(WriteStatus)>;

class ApiServer {
 public:
  // Borrows `engine`. REQUIRES: request_latency >= 0.
  ApiServer(sim::Engine& engine, sim::Time request_latency);

  template <class T>
  using Watcher = std::function<void(WatchType, const T&)>;

  template <class T>
  const T* Get(const std::string& key) const {
    const auto& objects = Store<T>().objects;
    const auto it = objects.find(key);
    return it == objects.end() ? nullptr : &it->second;
  }
  // All objects of a kind, ordered by key.
  template <class T>
  const std::map<std::string, T>& List() const {
    return Store<T>().objects;
  }
  // Registers a watcher for every later write of kind T.
  template <class T>
  void Watch(Watcher<T> watcher) {
    Store<T>().watchers.push_back(std::move(watcher));
  }

  template <class T>
  void Create(T object, WriteCallback done = {});
  template <class T>
  void Update(T object, WriteCallback done = {});
  template <class T>
  void Patch(const std::string& key, std::function<void(T&)> mutate, WriteCallback done = {});
  template <class T>
  void Delete(const std::string& key, WriteCallback done = {});

  std::uint64_t writes_applied() const { return writes_applied_; }
  sim::Time request_latency() const { return request_latency_; }

 private:
  template <class T>
  struct KindStore {
    std::map<std::string, T> objects;
    std::vector<Watcher<T>> watchers;
  };
  using Stores =
      std::tuple<KindStore<Namespace>, KindStore<Node>, KindStore<Pod>, KindStore<Deployment>,
                 KindStore<ReplicaSet>, KindStore<Service>, KindStore<Endpoints>,
                 KindStore<HorizontalPodAutoscaler>, KindStore<ArgoRollout>>;

  template <class T>
  KindStore<T>& Store() {
    return std::get<KindStore<T>>(stores_);
  }
  template <class T>
  const KindStore<T>& Store() const {
    return std::get<KindStore<T>>(stores_);
  }
  template <class T>
  void Notify(WatchType type, const T& object) {
    // Watchers may write (which is deferred by the latency), never re-enter.
    for (const auto& w : Store<T>().watchers)
      w(type, object);
  }
  // Runs `apply` after the request latency and reports its status.
  void Later(std::function<WriteStatus()> apply, WriteCallback done);

  sim::Engine& engine_;
  const sim::Time request_latency_;
  Stores stores_;
  std::int64_t revision_ = 0;
  std::uint64_t next_uid_ = 1;
  std::uint64_t writes_applied_ = 0;
};

template <class T>
void ApiServer::Create(T object, WriteCallback done) {
  Later(
      [this, object = std::move(object)]() mutable {
        auto& objects = Store<T>().objects;
        const std::string key = object.meta.Key();
        if (objects.count(key)) return WriteStatus::kAlreadyExists;
        object.meta.uid = next_uid_++;
        object.meta.resource_version = ++revision_;
        object.meta.generation = 1;
        object.meta.creation_time = engine_.Now();
        const T& stored = objects.emplace(key, std::move(object)).first->second;
        Notify(WatchType::kAdded, stored);
        return WriteStatus::kOk;
      },
      std::move(done));
}

template <class T>
void ApiServer::Update(T object, WriteCallback done) {
  Later(
      [this, object = std::move(object)]() mutable {
        auto& objects = Store<T>().objects;
        const auto it = objects.find(object.meta.Key());
        if (it == objects.end()) return WriteStatus::kNotFound;
        if (it->second.meta.resource_version != object.meta.resource_version) {
          return WriteStatus::kConflict;
        }
        object.meta.resource_version = ++revision_;
        it->second = std::move(object);
        Notify(WatchType::kModified, it->second);
        return WriteStatus::kOk;
      },
      std::move(done));
}

template <class T>
void ApiServer::Patch(const std::string& key, std::function<void(T&)> mutate, WriteCallback done) {
  Later(
      [this, key, mutate = std::move(mutate)] {
        auto& objects = Store<T>().objects;
        const auto it = objects.find(key);
        if (it == objects.end()) return WriteStatus::kNotFound;
        mutate(it->second);
        it->second.meta.resource_version = ++revision_;
        Notify(WatchType::kModified, it->second);
        return WriteStatus::kOk;
      },
      std::move(done));
}

template <class T>
void ApiServer::Delete(const std::string& key, WriteCallback done) {
  Later(
      [this, key] {
        auto& objects = Store<T>().objects;
        const auto it = objects.find(key);
        if (it == objects.end()) return WriteStatus::kNotFound;
        if constexpr (std::is_same_v<T, Pod>) {
          if (!it->second.meta.deleting && !it->second.node_name.empty()) {
            it->second.meta.deleting = true;
            it->second.meta.deletion_time = engine_.Now();
            it->second.meta.resource_version = ++revision_;
            Notify(WatchType::kModified, it->second);
            return WriteStatus::kOk;
          }
        }
        const T last = std::move(it->second);
        objects.erase(it);
        ++revision_;
        Notify(WatchType::kDeleted, last);
        return WriteStatus::kOk;
      },
      std::move(done));
}

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_API_SERVER_H_
