#include "sigma/contracts/env_names.hpp"
#include "sigma/ckpt/memory_copies.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "copy_file.hpp"
#include "copy_partners.hpp"
#include "memory_copy_format.hpp"
#include "sigma/core/cli.hpp"
#include "sigma/core/durable_file.hpp"
#include "sigma/core/error.hpp"
#include "sigma/core/trusted_path.hpp"

namespace sigma::ckpt {
namespace {

namespace fs = std::filesystem;

struct SlotName {
  int rank;
};

// "own-r<rank>.<0|1>" or "mirror-r<rank>.<0|1>": a slot file of the copies; nullopt for anything else.
std::optional<SlotName> parse_slot_name(const std::string& name) {
  for (const char* role : {"own", "mirror"}) {
    int rank = -1, slot = -1;
    char tail = 0;
    const std::string format = std::string(role) + "-r%d.%d%c";
    if (std::sscanf(name.c_str(), format.c_str(), &rank, &slot, &tail) == 2 && rank >= 0 && (slot == 0 || slot == 1) &&
        name == fmt::format("{}-r{}.{}", role, rank, slot)) {
      return SlotName{rank};
    }
  }
  return std::nullopt;
}

constexpr int kNameBytes = 256;
constexpr size_t kChunk = size_t{1} << 30;  // MPI counts are ints: larger copies go in pieces
constexpr std::size_t kMaxCopyBytes = std::size_t{1} << 40;

// A node name as a directory name: anything but [A-Za-z0-9._-] becomes '_', and "." or ".." cannot result.
std::string path_safe(const std::string& name) {
  std::string out;
  for (char c : name.substr(0, kNameBytes - 1)) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c : '_';
  return out.empty() || out == "." || out == ".." ? "node" : out;
}

std::vector<std::string> gather_nodes(MPI_Comm comm, const std::string& node) {
  int world = 1;
  MPI_Comm_size(comm, &world);
  char mine[kNameBytes] = {};
  std::strncpy(mine, node.c_str(), kNameBytes - 1);
  std::vector<char> all(static_cast<size_t>(world) * kNameBytes);
  MPI_Allgather(mine, kNameBytes, MPI_CHAR, all.data(), kNameBytes, MPI_CHAR, comm);
  std::vector<std::string> nodes;
  for (int r = 0; r < world; ++r) nodes.emplace_back(all.data() + static_cast<size_t>(r) * kNameBytes);
  return nodes;
}

bool everyone(MPI_Comm comm, bool mine) {
  int in = mine ? 1 : 0, all = 0;
  MPI_Allreduce(&in, &all, 1, MPI_INT, MPI_MIN, comm);
  return all == 1;
}

// Posts the sends or receives of a byte buffer in pieces of at most kChunk.
void post_bytes(char* data, size_t size, int peer, bool send, MPI_Comm comm, std::vector<MPI_Request>& requests) {
  for (size_t at = 0; at < size; at += kChunk) {
    const int n = static_cast<int>(std::min(kChunk, size - at));
    requests.emplace_back();
    if (send) {
      MPI_Isend(data + at, n, MPI_CHAR, peer, 1, comm, &requests.back());
    } else {
      MPI_Irecv(data + at, n, MPI_CHAR, peer, 1, comm, &requests.back());
    }
  }
}

// One byte buffer to send or receive.
struct Bytes {
  char* data;
  size_t size;
};

// Sends sizes[i] to to[i] and returns the size each rank of `from` sends.
std::vector<uint64_t> exchange_sizes(MPI_Comm comm, const std::vector<int>& to, std::vector<uint64_t> sizes,
                                     const std::vector<int>& from) {
  std::vector<uint64_t> in(from.size());
  std::vector<MPI_Request> requests;
  for (size_t i = 0; i < to.size(); ++i) {
    requests.emplace_back();
    MPI_Isend(&sizes[i], 1, MPI_UINT64_T, to[i], 0, comm, &requests.back());
  }
  for (size_t i = 0; i < from.size(); ++i) {
    requests.emplace_back();
    MPI_Irecv(&in[i], 1, MPI_UINT64_T, from[i], 0, comm, &requests.back());
  }
  MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
  return in;
}

// Sends out[i] to to[i] and receives in[i] from from[i] (sized already).
void exchange_bytes(MPI_Comm comm, const std::vector<int>& to, const std::vector<Bytes>& out,
                    const std::vector<int>& from, const std::vector<Bytes>& in) {
  std::vector<MPI_Request> requests;
  for (size_t i = 0; i < from.size(); ++i) post_bytes(in[i].data, in[i].size, from[i], false, comm, requests);
  for (size_t i = 0; i < to.size(); ++i) post_bytes(out[i].data, out[i].size, to[i], true, comm, requests);
  MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
}

// Creates DIR (mode 0700) when missing; "" when it is then this user's own directory that no one else can change.
std::string own_private_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fmt::format("{}: {}", dir, std::strerror(errno));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return fmt::format("{}: {}", dir, std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return fmt::format("{}: not a directory (a link or a file is in its place)", dir);
  if (st.st_uid != ::geteuid()) return fmt::format("{}: owned by uid {}, not this user", dir, st.st_uid);
  if (st.st_mode & 077) return fmt::format("{}: mode {:o}: others may use it (expected 0700)", dir, st.st_mode & 0777);
  return "";
}

}  // namespace

std::string memory_run_key(const std::string& checkpoint_dir) {
  const std::string where = fs::absolute(checkpoint_dir).lexically_normal().string();
  const std::string hash = fmt::format("{:016x}", XXH3_64bits(where.data(), where.size()));
  const char* job = std::getenv(env::kSlurmJobId);
  return job != nullptr && *job != '\0' ? fmt::format("job-{}-{}", path_safe(job), hash) : "run-" + hash;
}

MemoryCopies::MemoryCopies(MPI_Comm comm, MemoryCopyOptions options) : comm_(comm), options_(std::move(options)) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &world_);
  options_.node = path_safe(options_.node);
  const auto nodes = gather_nodes(comm_, options_.node);
  const CopyPlan plan = plan_copies(nodes);
  partner_ = plan.partner[static_cast<size_t>(rank_)];
  node_of_ = plan.node_of;
  sources_ = mirrored_by(plan, rank_);
  node_leader_ = std::find(plan.node_of.begin(), plan.node_of.end(), plan.node_of[static_cast<size_t>(rank_)]) -
                     plan.node_of.begin() == rank_;
  enabled_ = !options_.root.empty() && !options_.run_key.empty();
}

MemoryCopies::~MemoryCopies() = default;

std::string MemoryCopies::node_dir() const {
  return fmt::format("{}/sigma-mem-{}/{}/{}", options_.root, ::geteuid(), options_.run_key, options_.node);
}

void MemoryCopies::disable(const std::string& why) {
  if (!why.empty()) std::cerr << "sigma-ckpt: rank " << rank_ << ": in-memory copies off: " << printable(why) << "\n";
  enabled_ = false;
}

// Collective. The private directories, and room for this node's copies: two steps, own and mirrored, of every
// rank on the node (4x this rank's state per rank here).
bool MemoryCopies::prepare_dir(int64_t bytes) {
  const std::string top = fmt::format("{}/sigma-mem-{}", options_.root, ::geteuid());
  std::string why = own_private_dir(top);
  if (why.empty()) why = own_private_dir(top + "/" + options_.run_key);
  if (why.empty()) why = own_private_dir(node_dir());
  struct statvfs vfs {};
  if (why.empty() && bytes > 0 && ::statvfs(node_dir().c_str(), &vfs) == 0) {
    const auto free_bytes = static_cast<double>(vfs.f_bavail) * static_cast<double>(vfs.f_frsize);
    const double need = 4.0 * static_cast<double>(bytes) * static_cast<double>(1 + sources_.size());
    if (free_bytes < need) {
      why = fmt::format("{}: {:.0f} MiB free, the copies need about {:.0f} MiB", options_.root, free_bytes / 1048576,
                        need / 1048576);
    }
  }
  if (everyone(comm_, why.empty())) return true;
  disable(why.empty() ? "" : why);
  if (rank_ == 0 && why.empty()) std::cerr << "sigma-ckpt: in-memory copies off: another rank cannot keep them\n";
  return false;
}

// The slot file `slot` (0 or 1) of `role` ("own" or "mirror") for rank `rank`'s copies, sized `bytes`: the open
// one when its size fits, else opened (created) now.
CopyFile& MemoryCopies::slot_file(std::unique_ptr<CopyFile>& file, const char* role, int rank, int slot, size_t bytes) {
  if (!file || file->size() != bytes) {
    file.reset();
    file = std::make_unique<CopyFile>(fmt::format("{}/{}-r{}.{}", node_dir(), role, rank, slot), bytes);
  }
  return *file;
}

void MemoryCopies::take(int64_t step, const TrainingStateView& state) {
  if (!enabled_) return;
  if (!checked_space_) {
    checked_space_ = true;
    if (!prepare_dir(static_cast<int64_t>(state_data_bytes(state)))) return;
  }
  const int slot = static_cast<int>(takes_ % 2);  // the older of the two copies is rewritten
  const std::string header = copy_header(rank_, world_, step, state);
  const std::vector<int> to = partner_ >= 0 ? std::vector<int>{partner_} : std::vector<int>{};
  const auto sizes = exchange_sizes(comm_, to, std::vector<uint64_t>(to.size(), copy_size(header, state)), sources_);
  std::vector<Bytes> in;
  CopyFile* own = nullptr;
  std::string why;
  try {  // every file sized and its pages allocated before any byte moves: a full tmpfs fails here, on every rank
    own = &slot_file(own_[slot], "own", rank_, slot, copy_size(header, state));
    for (size_t i = 0; i < sources_.size(); ++i) {
      CopyFile& mirror = slot_file(mirrors_[slot][sources_[i]], "mirror", sources_[i], slot, sizes[i]);
      in.push_back({mirror.data(), mirror.size()});
    }
  } catch (const Error& e) {
    why = e.what();
  }
  if (!everyone(comm_, why.empty())) return disable(why);
  write_copy(own->data(), header, state);
  exchange_bytes(comm_, to, std::vector<Bytes>(to.size(), Bytes{own->data(), own->size()}), sources_, in);
  ++takes_;
}

std::vector<MemoryCopies::Held> MemoryCopies::verified_on_node(int64_t min_step) const {
  std::vector<Held> held;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(node_dir(), ec)) {
    const std::string name = entry.path().filename().string();
    const auto slot = parse_slot_name(name);
    if (!slot) continue;  // another file
    std::string why;
    try {
      const std::string bytes = read_regular_file(entry.path().string(), kMaxCopyBytes, "memory copy");
      if (const auto header = verify_copy(bytes, why)) {
        if (header->rank == slot->rank && header->rank < header->world) {
          if (header->step >= min_step) {
            held.push_back({slot->rank, header->step, rank_, header->world, layout_key(*header), entry.path().string()});
          }
          continue;
        }
        why = fmt::format("it holds rank {} of {} ranks", header->rank, header->world);
      }
    } catch (const Error& e) {
      why = e.what();
    }
    std::cerr << "sigma-ckpt: memory copy " << printable(entry.path().string()) << " rejected: " << printable(why) << "\n";
  }
  return held;
}

// Every rank learns which copies every node leader holds.
std::vector<MemoryCopies::Held> MemoryCopies::gather_held(const std::vector<Held>& mine) const {
  constexpr int kFields = 5;
  std::vector<int64_t> flat;
  for (const Held& h : mine) flat.insert(flat.end(), {h.rank, h.step, h.holder, h.world, static_cast<int64_t>(h.layout)});
  int count = static_cast<int>(flat.size());
  std::vector<int> counts(static_cast<size_t>(world_)), offsets(static_cast<size_t>(world_));
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_);
  int total = 0;
  for (int r = 0; r < world_; ++r) {
    offsets[static_cast<size_t>(r)] = total;
    total += counts[static_cast<size_t>(r)];
  }
  std::vector<int64_t> all(static_cast<size_t>(total));
  MPI_Allgatherv(flat.data(), count, MPI_INT64_T, all.data(), counts.data(), offsets.data(), MPI_INT64_T, comm_);
  std::vector<Held> out;
  for (size_t i = 0; i + kFields - 1 < all.size(); i += kFields) {
    out.push_back({static_cast<int>(all[i]), all[i + 1], static_cast<int>(all[i + 2]), static_cast<int>(all[i + 3]),
                   static_cast<uint64_t>(all[i + 4]), ""});
  }
  return out;
}

// The copy each rank restores from (indexed by rank): of the newest step, and one world size, at which every rank
// finds a copy of its layout (`layouts`, every rank's). A rank takes its own rank's copy at this world size when
// there is one, else one its own node holds (read there, not sent), else the copy of the holder that serves the
// fewest ranks so far (the sends spread over the nodes). Empty when no step has them all.
std::vector<MemoryCopies::Held> MemoryCopies::choose_copies(const std::vector<Held>& held,
                                                            const std::vector<uint64_t>& layouts) const {
  std::map<std::pair<int64_t, int>, std::vector<Held>> by_step;  // (step, world) -> copies
  for (const Held& h : held) by_step[{h.step, h.world}].push_back(h);
  std::vector<int> serving;  // how many ranks each holder serves in the choice being made
  auto preference = [&](const Held& h, int rank) {
    const bool own = h.world == world_ && h.rank == rank;
    const bool on_my_node = node_of_[static_cast<size_t>(h.holder)] == node_of_[static_cast<size_t>(rank)];
    return std::make_tuple(!own, !on_my_node, serving[static_cast<size_t>(h.holder)], h.holder, h.rank);
  };
  std::vector<std::pair<int64_t, int>> order;  // newest step first; this world size first among equal steps
  for (const auto& entry : by_step) order.push_back(entry.first);
  std::sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : (a.second == world_) > (b.second == world_);
  });
  for (const auto& key : order) {
    const auto& copies = by_step[key];
    std::vector<Held> chosen;
    serving.assign(static_cast<size_t>(world_), 0);
    for (int r = 0; r < world_; ++r) {
      const Held* best = nullptr;
      for (const Held& h : copies) {
        if (h.layout == layouts[static_cast<size_t>(r)] && (!best || preference(h, r) < preference(*best, r))) best = &h;
      }
      if (!best) break;
      chosen.push_back(*best);
      ++serving[static_cast<size_t>(best->holder)];
    }
    if (static_cast<int>(chosen.size()) == world_) return chosen;
  }
  return {};
}

// Collective: each rank receives the copy chosen for it from its holder (itself, when its node holds it). The
// holder reads the file again (`here`: what its node holds); the receiver verifies what arrives.
std::string MemoryCopies::fetch(const std::vector<Held>& chosen, const std::vector<Held>& here) const {
  std::vector<std::string> outgoing;
  std::vector<int> to;
  std::string own;
  for (int r = 0; r < world_; ++r) {
    const Held& want = chosen[static_cast<size_t>(r)];
    if (want.holder != rank_) continue;
    std::string bytes;
    const auto file = std::find_if(here.begin(), here.end(), [&](const Held& h) {
      return h.rank == want.rank && h.step == want.step && h.world == want.world;
    });
    try {
      if (file != here.end()) bytes = read_regular_file(file->file, kMaxCopyBytes, "memory copy");
    } catch (const Error&) {
      // Sent empty: the receiver rejects it and every rank falls back to the file checkpoint.
    }
    if (r == rank_) {
      own = std::move(bytes);
    } else {
      outgoing.push_back(std::move(bytes));
      to.push_back(r);
    }
  }
  const int from = chosen[static_cast<size_t>(rank_)].holder;
  const std::vector<int> sources = from == rank_ ? std::vector<int>{} : std::vector<int>{from};
  std::vector<uint64_t> sizes;
  for (const auto& bytes : outgoing) sizes.push_back(bytes.size());
  const auto incoming = exchange_sizes(comm_, to, sizes, sources);
  if (from != rank_) own.resize(incoming[0]);
  std::vector<Bytes> out, in;
  for (auto& bytes : outgoing) out.push_back({bytes.data(), bytes.size()});
  if (from != rank_) in.push_back({own.data(), own.size()});
  exchange_bytes(comm_, to, out, sources, in);
  return own;
}

std::optional<MemoryRestore> MemoryCopies::restore(TrainingStateView& state, int64_t min_step,
                                                   const std::function<void(const nlohmann::json&)>& accept) {
  if (!enabled_ || !prepare_dir(0)) return std::nullopt;
  const auto here = node_leader_ ? verified_on_node(min_step) : std::vector<Held>{};
  const auto held = gather_held(here);
  std::vector<uint64_t> layouts(static_cast<size_t>(world_));
  const uint64_t mine = layout_key(state);
  MPI_Allgather(&mine, 1, MPI_UINT64_T, layouts.data(), 1, MPI_UINT64_T, comm_);
  const auto chosen = choose_copies(held, layouts);
  if (chosen.empty()) return std::nullopt;
  const Held& want = chosen[static_cast<size_t>(rank_)];
  const std::string bytes = fetch(chosen, here);
  std::string why;
  auto header = verify_copy(bytes, why);
  if (header && (header->rank != want.rank || header->step != want.step || header->world != want.world)) {
    why = fmt::format("it names rank {} step {} of {} ranks", header->rank, header->step, header->world);
    header.reset();
  }
  if (header) why = copy_matches(*header, state);
  if (why.empty()) {
    try {
      if (accept) accept(header->scalars);
    } catch (const Error& e) {
      why = e.what();
    }
  }
  if (!why.empty()) {
    std::cerr << "sigma-ckpt: rank " << rank_ << ": memory copy of step " << want.step << " not used: " << printable(why)
              << "\n";
  }
  if (!everyone(comm_, why.empty())) return std::nullopt;
  fill_from_copy(bytes, *header, state);
  return MemoryRestore{want.step, header->scalars, want.world};
}

void MemoryCopies::drop() {
  for (int slot = 0; slot < 2; ++slot) {
    own_[slot].reset();
    mirrors_[slot].clear();
  }
  takes_ = 0;
  MPI_Barrier(comm_);  // every rank has read what it needed before a leader removes the node's copies
  if (enabled_ && node_leader_) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(node_dir(), ec)) fs::remove(entry.path(), ec);
  }
  MPI_Barrier(comm_);
}

}  // namespace sigma::ckpt
