// Caches shared by every request of a process: parsed certificates and
// verified signature edges. Parsing (OpenSSL 3.0 key decoders) and signature
// checks are nearly all the cost of a verification, and a fleet uploads the
// same intermediates over and over.
//
// Soundness: both caches are keyed by content, and each value is a pure
// function of its key's bytes:
//   - a parsed certificate is a function of its DER (keyed by SHA-256 of the
//     DER; a hit is also compared byte for byte, so even a SHA-256 collision
//     cannot substitute a certificate);
//   - a signature edge (child certificate SHA-256, issuer SPKI SHA-256) is the
//     result of X509_verify(child, issuer key), a function of the two byte
//     strings (the per-request memo in path_builder.cc already relies on this).
// So untrusted uploads can fill the caches (and evict each other's entries),
// but cannot make a different answer come out of them.
//
// The third cache holds whole verification results. Its key and the rules
// for when an entry may be served are verifier.cc's (see VerifyChain): the
// key covers every input bytes, the peer name, the purpose and the policy's
// identity, and an entry is served only inside the time window in which no
// certificate's validity (nor a pin's expiry) changes; results that checked
// revocation or ran into a search limit are never stored.
//
// Bounded: certificates by an estimate of their memory, edges by count. Each
// cache is split into shards by the key's first byte (keys are SHA-256
// output), each with its own mutex and LRU list, so concurrent requests
// rarely contend.
#ifndef CHAINVERIFY_SERVER_PKI_CACHES_H_
#define CHAINVERIFY_SERVER_PKI_CACHES_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/pki/certificate.h"

namespace chainverify::pki {

struct CacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t insertions = 0;
  uint64_t evictions = 0;
  uint64_t entries = 0;
  // Sum of the entries' costs (bytes for certificates, 1 per edge).
  uint64_t cost = 0;
};

namespace internal {

// A byte- or count-bounded LRU map from a binary key to V, in kShards shards.
// Costs are charged against the shard's share of the capacity, so the total
// never exceeds the capacity.
template <typename V>
class ShardedLru {
 public:
  static constexpr size_t kShards = 16;

  explicit ShardedLru(size_t capacity) : shard_capacity_(capacity / kShards) {}

  std::optional<V> Get(absl::string_view key) {
    Shard& s = ShardFor(key);
    absl::MutexLock lock(&s.mu);
    auto it = s.index.find(key);
    if (it == s.index.end()) {
      ++s.misses;
      return std::nullopt;
    }
    ++s.hits;
    s.lru.splice(s.lru.begin(), s.lru, it->second);  // Most recent first.
    return it->second->value;
  }

  // Keeps the entry already under `key` unless `replace`.
  void Put(absl::string_view key, V value, size_t cost, bool replace = false) {
    // An entry larger than a shard's share would evict everything for nothing.
    if (cost > shard_capacity_) return;
    Shard& s = ShardFor(key);
    // Entries leaving the cache are destroyed after the lock is released
    // (declared before it): freeing a parsed certificate's OpenSSL objects
    // takes about as long as parsing it, and other requests wait for the
    // shard meanwhile.
    std::list<Entry> removed;
    absl::MutexLock lock(&s.mu);
    if (auto it = s.index.find(key); it != s.index.end()) {
      if (!replace) return;  // A concurrent request got here first.
      auto node = it->second;
      s.used -= node->cost;
      s.index.erase(it);
      removed.splice(removed.end(), s.lru, node);
    }
    while (s.used + cost > shard_capacity_ && !s.lru.empty()) {
      Entry& victim = s.lru.back();
      s.used -= victim.cost;
      s.index.erase(absl::string_view(victim.key));
      removed.splice(removed.end(), s.lru, std::prev(s.lru.end()));
      ++s.evictions;
    }
    s.lru.push_front(Entry{std::string(key), std::move(value), cost});
    // The index points into the list node's own key, which never moves.
    s.index.emplace(absl::string_view(s.lru.front().key), s.lru.begin());
    s.used += cost;
    ++s.insertions;
  }

  void Clear() {
    for (Shard& s : shards_) {
      absl::MutexLock lock(&s.mu);
      s.index.clear();
      s.lru.clear();
      s.used = 0;
    }
  }

  CacheStats Stats() const {
    CacheStats total;
    for (const Shard& s : shards_) {
      absl::MutexLock lock(&s.mu);
      total.hits += s.hits;
      total.misses += s.misses;
      total.insertions += s.insertions;
      total.evictions += s.evictions;
      total.entries += s.lru.size();
      total.cost += s.used;
    }
    return total;
  }

 private:
  struct Entry {
    std::string key;
    V value;
    size_t cost;
  };
  struct Shard {
    mutable absl::Mutex mu;
    std::list<Entry> lru ABSL_GUARDED_BY(mu);
    absl::flat_hash_map<absl::string_view, typename std::list<Entry>::iterator> index
        ABSL_GUARDED_BY(mu);
    size_t used ABSL_GUARDED_BY(mu) = 0;
    uint64_t hits ABSL_GUARDED_BY(mu) = 0;
    uint64_t misses ABSL_GUARDED_BY(mu) = 0;
    uint64_t insertions ABSL_GUARDED_BY(mu) = 0;
    uint64_t evictions ABSL_GUARDED_BY(mu) = 0;
  };

  Shard& ShardFor(absl::string_view key) {
    const unsigned char b = key.empty() ? 0 : static_cast<unsigned char>(key[0]);
    return shards_[b % kShards];
  }

  const size_t shard_capacity_;
  std::array<Shard, kShards> shards_;
};

}  // namespace internal

struct VerifierCacheStats {
  CacheStats certificates;
  CacheStats signatures;
  CacheStats results;
};

// One cached verification result (see VerifyChain for the rules).
struct CachedResult {
  // The policy the result was computed under. Compared by identity on a hit;
  // a weak pointer, so a freed policy's address reused by a new one can
  // never match.
  std::weak_ptr<const void> scope;
  // [valid_from, valid_until), whole seconds: the verification times at which
  // the result holds.
  absl::Time valid_from;
  absl::Time valid_until;
  // The VerifyResult (verifier.h includes this header, hence the erasure).
  std::shared_ptr<const void> result;
};

// The process-wide caches. Owned by the server (or a benchmark) and handed to
// VerifyChain through VerifyPolicy::caches; a null pointer means no caching
// (the conformance harness and most tests). Thread-safe.
class VerifierCaches {
 public:
  struct Options {
    // Estimated memory of the parsed certificates kept (see CertificateCost).
    size_t certificate_bytes = size_t{64} << 20;
    // Signature edges kept (about 200 bytes each).
    size_t signature_entries = 200000;
    // Estimated memory of the whole results kept; 0 disables that cache.
    size_t result_bytes = size_t{16} << 20;
  };
  explicit VerifierCaches(const Options& options);
  VerifierCaches(const VerifierCaches&) = delete;
  VerifierCaches& operator=(const VerifierCaches&) = delete;

  // Certificate::Parse, through the cache. Only successes are kept: a failure
  // is cheap to recompute, and keeping it would let junk evict real entries.
  CertificatePtr ParseCertificate(absl::string_view der, ParseError* error);
  // The same, given the raw SHA-256 of `der` (the cache key) already computed.
  CertificatePtr ParseCertificate(absl::string_view der, const std::string& sha256,
                                  ParseError* error);

  // The remembered result of X509_verify(child, issuer's key), if any.
  std::optional<bool> LookupSignature(const Certificate& child, const Certificate& issuer);
  void RecordSignature(const Certificate& child, const Certificate& issuer, bool valid);

  // Whole results by key (verifier.cc builds the key and checks the entry).
  std::shared_ptr<const CachedResult> LookupResult(absl::string_view key);
  void RecordResult(absl::string_view key, std::shared_ptr<const CachedResult> entry,
                    size_t cost);

  void Clear();
  VerifierCacheStats Stats() const;

  // Memory charged for one parsed certificate: its DER twice (our copy and
  // OpenSSL's decoded structures, which are of the same order) plus a fixed
  // allowance for the decoded key, the extension caches and the index.
  static size_t CertificateCost(const Certificate& cert);

 private:
  internal::ShardedLru<CertificatePtr> certificates_;
  internal::ShardedLru<bool> signatures_;
  internal::ShardedLru<std::shared_ptr<const CachedResult>> results_;
};

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_CACHES_H_
