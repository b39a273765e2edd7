#include "sim/disk.h"

#include <algorithm>

namespace samsa::sim {

namespace {
template <class... Fs>
struct Overloaded : Fs... {
    using Fs::operator()...;
};

io::IoCompleted completion(IoToken token, io::IoStatus status, std::uint64_t size = 0) {
    io::IoCompleted done;
    done.token = token;
    done.status = status;
    done.size = size;
    return done;
}
}  // namespace

SimDisk::SimDisk(DiskParams params, Prng prng, const FaultPlan& plan, FaultCounters& counters)
    : params_(params),
      prng_(prng),
      plan_(plan),
      counters_(counters),
      capacity_bytes_(params.capacity_bytes) {}

std::optional<io::IoCompleted> SimDisk::execute(const io::Effect& operation) {
    return std::visit(
        Overloaded{
            [](const io::Send&) -> std::optional<io::IoCompleted> {
                SAMSA_UNREACHABLE("not a disk operation");
            },
            [](const io::SetTimer&) -> std::optional<io::IoCompleted> {
                SAMSA_UNREACHABLE("not a disk operation");
            },
            [](const io::CancelTimer&) -> std::optional<io::IoCompleted> {
                SAMSA_UNREACHABLE("not a disk operation");
            },
            [](const io::ClientReply&) -> std::optional<io::IoCompleted> {
                SAMSA_UNREACHABLE("not a disk operation");
            },
            [](const io::ClientClose&) -> std::optional<io::IoCompleted> {
                SAMSA_UNREACHABLE("not a disk operation");
            },
            [this](const io::Close& op) -> std::optional<io::IoCompleted> {
                handles_.erase(op.file.value());
                direct_handles_.erase(op.file.value());
                return std::nullopt;
            },
            [this](const io::Open& op) -> std::optional<io::IoCompleted> { return open(op); },
            [this](const io::Write& op) -> std::optional<io::IoCompleted> { return write(op); },
            [this](const io::Read& op) -> std::optional<io::IoCompleted> { return read(op); },
            [this](const io::Fsync& op) -> std::optional<io::IoCompleted> { return fsync(op); },
            [this](const io::Truncate& op) -> std::optional<io::IoCompleted> {
                return truncate(op);
            },
            [this](const io::Remove& op) -> std::optional<io::IoCompleted> { return remove(op); },
            [this](const io::Rename& op) -> std::optional<io::IoCompleted> { return rename(op); },
            [this](const io::List& op) -> std::optional<io::IoCompleted> { return list(op); },
            [this](const io::SyncDir& op) -> std::optional<io::IoCompleted> {
                return sync_dir(op);
            },
        },
        operation);
}

Duration SimDisk::latency(const io::Effect& operation) {
    const bool is_sync = std::holds_alternative<io::Fsync>(operation) ||
                         std::holds_alternative<io::SyncDir>(operation);
    const Duration mean = is_sync ? params_.fsync_latency_mean : params_.latency_mean;
    auto draw = [this](Duration d) {
        return Duration::nanoseconds(
            static_cast<std::int64_t>(prng_.exponential(static_cast<double>(d.count_ns()))));
    };
    Duration latency = params_.latency_min + draw(mean);
    if (prng_.chance(plan_.rate(FaultKind::slow_io))) {
        counters_.add(FaultKind::slow_io);
        latency += draw(params_.slow_io_mean);
    }
    return latency;
}

SimDisk::File* SimDisk::handle(FileId file) {
    const auto found = handles_.find(file.value());
    return found == handles_.end() ? nullptr : found->second.get();
}

io::IoCompleted SimDisk::open(const io::Open& op) {
    SAMSA_ASSERT_MSG(!handles_.contains(op.file.value()), "Open of a FileId already open");
    auto found = files_.find(op.name);
    if (found != files_.end() && op.create && op.exclusive) {
        return completion(op.token, io::IoStatus::already_exists);
    }
    if (found == files_.end()) {
        if (!op.create) return completion(op.token, io::IoStatus::not_found);
        if (files_.size() >= params_.files_max) return completion(op.token, io::IoStatus::no_space);
        found = files_.emplace(op.name, std::make_shared<File>()).first;
    }
    if (found->second->data.empty() && !fits(op.reserve_bytes)) {
        return completion(op.token, io::IoStatus::no_space);
    }
    handles_[op.file.value()] = found->second;
    if (op.direct) direct_handles_.insert(op.file.value());
    return completion(op.token, io::IoStatus::ok, found->second->data.size());
}

void SimDisk::apply(File& file, const Undo& undo, std::uint64_t length) {
    if (!undo.is_write) {
        file.data.resize(undo.offset, 0);
        return;
    }
    const std::uint64_t end = undo.offset + undo.written.size();
    if (file.data.size() < end) file.data.resize(end, 0);
    std::copy_n(undo.written.begin(), length, file.data.begin() + static_cast<long>(undo.offset));
}

io::IoCompleted SimDisk::write(const io::Write& op) {
    File* file = handle(op.file);
    if (file == nullptr) return completion(op.token, io::IoStatus::bad_file);
    SAMSA_ASSERT_MSG(
        !direct_handles_.contains(op.file.value()) ||
            (op.offset % io::direct_alignment == 0 && op.data.size() % io::direct_alignment == 0),
        "misaligned write to a direct file");
    if (prng_.chance(plan_.rate(FaultKind::write_eio))) {
        counters_.add(FaultKind::write_eio);
        return completion(op.token, io::IoStatus::io_error);
    }
    if (op.offset > params_.file_bytes_max || op.data.size() > params_.file_bytes_max - op.offset) {
        return completion(op.token, io::IoStatus::too_large);
    }
    const std::uint64_t end = op.offset + op.data.size();
    const std::uint64_t growth = end > file->data.size() ? end - file->data.size() : 0;
    if (!fits(growth)) return completion(op.token, io::IoStatus::no_space);
    used_upper_ += growth;
    Undo undo;
    undo.offset = op.offset;
    undo.written = op.data;
    undo.old_size = file->data.size();
    if (op.offset < undo.old_size) {
        const auto overlap_end = std::min<std::uint64_t>(end, undo.old_size);
        undo.overwritten.assign(file->data.begin() + static_cast<long>(op.offset),
                                file->data.begin() + static_cast<long>(overlap_end));
    }
    apply(*file, undo, undo.written.size());
    file->unsynced.push_back(std::move(undo));
    return completion(op.token, io::IoStatus::ok, op.data.size());
}

io::IoCompleted SimDisk::read(const io::Read& op) {
    File* file = handle(op.file);
    if (file == nullptr) return completion(op.token, io::IoStatus::bad_file);
    if (prng_.chance(plan_.rate(FaultKind::read_eio))) {
        counters_.add(FaultKind::read_eio);
        return completion(op.token, io::IoStatus::io_error);
    }
    io::IoCompleted done = completion(op.token, io::IoStatus::ok);
    if (op.offset < file->data.size()) {
        const auto end = std::min<std::uint64_t>(op.offset + op.length, file->data.size());
        done.data.assign(file->data.begin() + static_cast<long>(op.offset),
                         file->data.begin() + static_cast<long>(end));
    }
    done.size = done.data.size();
    if (!done.data.empty() && prng_.chance(plan_.rate(FaultKind::read_bitflip))) {
        counters_.add(FaultKind::read_bitflip);
        const auto bit = prng_.uniform(done.data.size() * 8);
        done.data[bit / 8] ^= static_cast<std::uint8_t>(1U << (bit % 8));
    }
    return done;
}

io::IoCompleted SimDisk::fsync(const io::Fsync& op) {
    File* file = handle(op.file);
    if (file == nullptr) return completion(op.token, io::IoStatus::bad_file);
    if (prng_.chance(plan_.rate(FaultKind::fsync_eio))) {
        // The writes stay pending: a later fsync may still cover them.
        counters_.add(FaultKind::fsync_eio);
        return completion(op.token, io::IoStatus::io_error);
    }
    file->unsynced.clear();
    return completion(op.token, io::IoStatus::ok);
}

io::IoCompleted SimDisk::truncate(const io::Truncate& op) {
    File* file = handle(op.file);
    if (file == nullptr) return completion(op.token, io::IoStatus::bad_file);
    if (op.size > params_.file_bytes_max) return completion(op.token, io::IoStatus::too_large);
    const std::uint64_t growth = op.size > file->data.size() ? op.size - file->data.size() : 0;
    if (!fits(growth)) return completion(op.token, io::IoStatus::no_space);
    used_upper_ += growth;
    Undo undo;
    undo.is_write = false;
    undo.offset = op.size;
    undo.old_size = file->data.size();
    if (op.size < undo.old_size) {
        undo.overwritten.assign(file->data.begin() + static_cast<long>(op.size), file->data.end());
    }
    apply(*file, undo, 0);
    file->unsynced.push_back(std::move(undo));
    return completion(op.token, io::IoStatus::ok, op.size);
}

io::IoCompleted SimDisk::remove(const io::Remove& op) {
    const auto found = files_.find(op.name);
    if (found == files_.end()) return completion(op.token, io::IoStatus::not_found);
    if (found->second->durable_entry) removed_[op.name] = found->second;
    files_.erase(found);
    return completion(op.token, io::IoStatus::ok);
}

// Like a removal of `from` and a creation of `to` with the same contents: a
// crash before the next sync_dir() brings back the old name.
io::IoCompleted SimDisk::rename(const io::Rename& op) {
    const auto found = files_.find(op.from);
    if (found == files_.end()) return completion(op.token, io::IoStatus::not_found);
    if (files_.contains(op.to)) return completion(op.token, io::IoStatus::already_exists);
    std::shared_ptr<File> file = found->second;
    if (file->durable_entry) removed_[op.from] = file;
    files_.erase(found);
    file->durable_entry = false;
    files_[op.to] = std::move(file);
    return completion(op.token, io::IoStatus::ok);
}

io::IoCompleted SimDisk::list(const io::List& op) {
    io::IoCompleted done = completion(op.token, io::IoStatus::ok);
    done.names = names();
    done.size = done.names.size();
    return done;
}

io::IoCompleted SimDisk::sync_dir(const io::SyncDir& op) {
    for (auto& [name, file] : files_) file->durable_entry = true;
    removed_.clear();
    return completion(op.token, io::IoStatus::ok);
}

void SimDisk::roll_back(File& file, const std::vector<Undo>& unsynced) {
    for (auto undo = unsynced.rbegin(); undo != unsynced.rend(); ++undo) {
        file.data.resize(undo->old_size, 0);
        std::copy(undo->overwritten.begin(), undo->overwritten.end(),
                  file.data.begin() + static_cast<long>(undo->offset));
    }
}

void SimDisk::crash_file(File& file) {
    if (file.unsynced.empty()) return;
    const std::vector<Undo> unsynced = std::move(file.unsynced);
    file.unsynced.clear();
    roll_back(file, unsynced);
    std::size_t kept = 0;
    if (prng_.chance(plan_.rate(FaultKind::partial_flush))) {
        counters_.add(FaultKind::partial_flush);
        kept = static_cast<std::size_t>(prng_.uniform(unsynced.size() + 1));
    }
    for (std::size_t i = 0; i < kept; ++i) apply(file, unsynced[i], unsynced[i].written.size());
    bool torn = false;
    if (kept < unsynced.size() && unsynced[kept].is_write && unsynced[kept].written.size() > 1 &&
        prng_.chance(plan_.rate(FaultKind::torn_write))) {
        // The write in flight reached the disk up to a random byte; the rest of
        // its range holds what was there before (zeros past the old end).
        counters_.add(FaultKind::torn_write);
        const Undo& in_flight = unsynced[kept];
        const auto tear = 1 + prng_.uniform(in_flight.written.size() - 1);
        apply(file, in_flight, tear);
        torn = true;
    }
    if (kept < unsynced.size() || torn) counters_.add(FaultKind::lost_unsynced);
}

void SimDisk::crash() {
    handles_.clear();
    direct_handles_.clear();
    // Names created since the last sync_dir() go (a renamed file's new name
    // among them); names removed since come back (its old name).
    std::erase_if(files_, [](const auto& entry) { return !entry.second->durable_entry; });
    for (auto& [name, file] : removed_) {
        file->durable_entry = true;
        files_[name] = file;
    }
    removed_.clear();
    for (auto& [name, file] : files_) crash_file(*file);
}

void SimDisk::wipe() {
    handles_.clear();
    direct_handles_.clear();
    files_.clear();
    removed_.clear();
}

// used_upper_ never undercounts (files only shrink between recounts), so a
// growth that fits under it fits; only near the capacity is it recounted.
bool SimDisk::fits(std::uint64_t growth) {
    if (used_upper_ <= capacity_bytes_ && growth <= capacity_bytes_ - used_upper_) return true;
    used_upper_ = used_bytes();
    return used_upper_ <= capacity_bytes_ && growth <= capacity_bytes_ - used_upper_;
}

std::uint64_t SimDisk::used_bytes() const noexcept {
    std::uint64_t used = 0;
    for (const auto& [name, file] : files_) used += file->data.size();
    return used;
}

std::optional<io::Bytes> SimDisk::contents(const std::string& name) const {
    const auto found = files_.find(name);
    if (found == files_.end()) return std::nullopt;
    return found->second->data;
}

std::vector<std::string> SimDisk::names() const {
    std::vector<std::string> result;
    result.reserve(files_.size());
    for (const auto& [name, file] : files_) result.push_back(name);
    return result;
}

std::size_t SimDisk::unsynced_operations(const std::string& name) const {
    const auto found = files_.find(name);
    return found == files_.end() ? 0 : found->second->unsynced.size();
}

}  // namespace samsa::sim
